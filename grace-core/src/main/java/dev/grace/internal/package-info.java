/**
 * Grace's machinery: the per-connection close state machine ({@link dev.grace.internal.GracefulConnection}),
 * how a reset is told apart from a FIN, and what epoll's TCP_INFO says about delivery. Not API:
 * anything here may change between releases.
 */
package dev.grace.internal;

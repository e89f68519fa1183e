/**
 * Grace's machinery, not API: one connection's close decisions ({@link dev.grace.internal.CloseMachine},
 * no Netty in it), the handler that carries them out on the channel ({@code GracefulConnection}),
 * its timers, what the kernel says about delivery, and how a reset is told from a FIN.
 * {@link dev.grace.internal.Connections} is the only door in; anything here may change between releases.
 */
package dev.grace.internal;

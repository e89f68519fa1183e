/**
 * A TCP server whose stop is a drain: readiness off, listener closed after its backlog was
 * accepted, idle connections closed gracefully, busy ones told to finish, the rest aborted at
 * one deadline, and a {@link dev.grace.server.DrainReport} of how every connection ended.
 * Protocols plug in through {@link dev.grace.server.Protocol}; {@link dev.grace.server.EchoProtocol} is built in.
 */
package dev.grace.server;

/**
 * A relay between two connections that carries the end of each direction across: the source's
 * FIN becomes our FIN toward the target once every relayed byte was flushed, and a reset on
 * either side resets the other at once. {@link dev.grace.relay.RelayProtocol} makes a
 * {@link dev.grace.server.Server} a TCP proxy.
 */
package dev.grace.relay;

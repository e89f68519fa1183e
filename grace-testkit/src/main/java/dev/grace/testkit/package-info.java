/**
 * What Grace's tests stand on, shared by grace-core's and grace-cli's tests: plain-socket peers
 * ({@link dev.grace.testkit.Peer}, {@link dev.grace.testkit.PeerServer}) and the closed vocabulary
 * of ways they misbehave ({@link dev.grace.testkit.Misbehaviour}), loopback ports, the fd-leak
 * check, and the kernel's and the wire's view (ss, tcpdump). Nothing here knows Grace, so
 * grace-core's own tests can use it; helpers built on Grace's types stay in grace-core's tests.
 */
package dev.grace.testkit;

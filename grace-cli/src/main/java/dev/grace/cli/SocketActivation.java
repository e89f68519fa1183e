package dev.grace.cli;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Map;

/**
 * systemd socket activation (sd_listen_fds(3)): with {@code LISTEN_PID} our PID and
 * {@code LISTEN_FDS} at least 1, the listening socket is fd 3, and a server accepts on it instead
 * of binding. {@code LISTEN_PID} of another process (a parent's variables leaking into a child)
 * is ignored. The inherited fd needs no close-on-exec flag of ours: every process the JDK starts
 * closes all descriptors above 2 in the child before it execs (childproc.c, closeDescriptors).
 *
 * @param hostFlag the option that named the address ({@code --bind}, {@code --listen}), for errors
 * @param host     the address asked for on the command line, or null when none was given
 * @param portFlag the option that named the port ({@code --port}, {@code --listen})
 * @param port     the port asked for, or null when none was given
 */
record SocketActivation(int fd, String hostFlag, String host, String portFlag, Integer port) {
    static final int FIRST_FD = 3;

    /** The fd systemd passed this process, or -1. */
    static int listenFd(Map<String, String> environment, long pid) {
        String listenPid = environment.get("LISTEN_PID");
        String listenFds = environment.get("LISTEN_FDS");
        if (listenPid == null || listenFds == null) {
            return -1;
        }
        try {
            return Long.parseLong(listenPid.trim()) == pid && Integer.parseInt(listenFds.trim()) >= 1 ? FIRST_FD : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Null when the socket matches what was asked; else the one-line usage error. */
    String mismatch(String command, InetSocketAddress actual) {
        if (port != null && port != 0 && port != actual.getPort()) {
            return command + ": Invalid value for option '" + portFlag + "': '" + port + "' is not the port of the socket systemd passed ("
                    + Values.format(actual) + ")";
        }
        if (host != null && !sameAddress(host, actual.getAddress())) {
            return command + ": Invalid value for option '" + hostFlag + "': '" + host + "' is not the address of the socket systemd passed ("
                    + Values.format(actual) + ")";
        }
        return null;
    }

    private static boolean sameAddress(String host, InetAddress actual) {
        try {
            InetAddress asked = InetAddress.getByName(host);
            return asked.isAnyLocalAddress() ? actual.isAnyLocalAddress() : asked.equals(actual);
        } catch (UnknownHostException e) {
            return false;
        }
    }
}

package dev.grace.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The handoff conversation, one ASCII line per message, the listening sockets themselves as
 * SCM_RIGHTS messages of their own:
 * <pre>
 * newcomer: grace-handoff 1 KIND PID        who asks, for which kind of server
 * old:      offer KIND PID SHARED NAME=HOST:PORT...   or: busy | moved | draining
 * newcomer: send                            (now reading descriptors only)
 * old:      one descriptor per NAME, in order
 * newcomer: taken                           (accepting on them)
 * old:      closes its copies, drains, closes the conversation: "released"
 * </pre>
 * A newcomer that wants nothing after the offer just closes; the old process then goes on as if
 * nothing had happened.
 */
final class HandoffMessages {
    static final String HELLO = "grace-handoff";
    static final int VERSION = 1;
    static final String OFFER = "offer";
    static final String BUSY = "busy";
    static final String DRAINING = "draining";
    /** Handed over already: the path is the newcomer's now, ask there. */
    static final String MOVED = "moved";
    static final String SEND = "send";
    static final String TAKEN = "taken";
    static final int MAX_LINE = 512;
    /** The name of the server's own listener among those handed over; it is always the first. */
    static final String SERVICE = "service";

    private HandoffMessages() {}

    static ByteBuf line(String text) {
        return Unpooled.copiedBuffer(text + "\n", StandardCharsets.US_ASCII);
    }

    static String hello(String kind, long pid) {
        return HELLO + " " + VERSION + " " + kind + " " + pid;
    }

    static String offer(String kind, long pid, boolean shared, Map<String, InetSocketAddress> listeners) {
        StringBuilder line = new StringBuilder(OFFER).append(' ').append(kind).append(' ').append(pid).append(' ').append(shared ? 1 : 0);
        listeners.forEach((name, address) -> line.append(' ').append(name).append('=').append(format(address)));
        return line.toString();
    }

    /** What the old process offered. */
    record Offer(String kind, long pid, boolean shared, Map<String, InetSocketAddress> listeners) {
        InetSocketAddress service() {
            return listeners.get(SERVICE);
        }

        List<String> names() {
            return new ArrayList<>(listeners.keySet());
        }
    }

    /** Null when {@code line} is not an offer this version understands. */
    static Offer parseOffer(String line) {
        String[] words = line.split(" ");
        if (words.length < 5 || !words[0].equals(OFFER) || !(words[3].equals("0") || words[3].equals("1"))) {
            return null;
        }
        try {
            long pid = Long.parseLong(words[2]);
            Map<String, InetSocketAddress> listeners = new LinkedHashMap<>();
            for (int i = 4; i < words.length; i++) {
                int equals = words[i].indexOf('=');
                if (equals <= 0) {
                    return null;
                }
                listeners.put(words[i].substring(0, equals), parseAddress(words[i].substring(equals + 1)));
            }
            if (!listeners.containsKey(SERVICE) || !listeners.keySet().iterator().next().equals(SERVICE)) {
                return null;
            }
            return new Offer(words[1], pid, words[3].equals("1"), listeners);
        } catch (NumberFormatException | UnknownHostException e) {
            return null;
        }
    }

    /** Null when {@code line} is not a hello of this version; else {kind, pid}. */
    static String[] parseHello(String line) {
        String[] words = line.split(" ");
        if (words.length != 4 || !words[0].equals(HELLO) || !words[1].equals(Integer.toString(VERSION))) {
            return null;
        }
        return new String[] {words[2], words[3]};
    }

    static String format(InetSocketAddress address) {
        String host = address.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + address.getPort();
    }

    private static InetSocketAddress parseAddress(String text) throws UnknownHostException {
        int colon = text.lastIndexOf(':');
        if (colon <= 0) {
            throw new NumberFormatException(text);
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        if (!host.matches("[0-9a-fA-F.:%a-zA-Z]+")) {
            throw new NumberFormatException(text);
        }
        return new InetSocketAddress(InetAddress.getByName(host), Integer.parseInt(text.substring(colon + 1)));
    }

    /** Splits a byte stream into lines, holding at most {@link #MAX_LINE} bytes of an unfinished one. */
    static final class LineReader {
        private final StringBuilder pending = new StringBuilder();

        /** The complete lines in {@code bytes}; null once a line is too long or not ASCII. */
        List<String> read(ByteBuf bytes) {
            List<String> lines = new ArrayList<>(1);
            while (bytes.isReadable()) {
                byte b = bytes.readByte();
                if (b == '\n') {
                    lines.add(pending.toString());
                    pending.setLength(0);
                } else if (b < 0x20 || b > 0x7e || pending.length() >= MAX_LINE) {
                    return null;
                } else {
                    pending.append((char) b);
                }
            }
            return lines;
        }
    }
}

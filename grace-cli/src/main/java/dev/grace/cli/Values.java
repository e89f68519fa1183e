package dev.grace.cli;

import dev.grace.SourcePorts;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Every value a flag or argument can carry, parsed once, here. A bad value becomes a
 * {@link TypeConversionException}; picocli prefixes its message with the flag's name, so the
 * user reads one line naming both the flag and the value.
 */
final class Values {
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h)");
    private static final Pattern HOST_PORT = Pattern.compile("(?:\\[([^\\]]+)\\]|([^:\\[\\]]+)):([^:]+)");

    private Values() {}

    /** {@code 250ms}, {@code 30s}, {@code 2m}, {@code 1h}: a whole number and a unit, nothing else. */
    static final class DurationValue implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            return parseDuration(value);
        }
    }

    /** A duration of more than zero: a bound that zero would turn into "at once". */
    static final class PositiveDuration implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            Duration duration = parseDuration(value);
            if (duration.isZero()) {
                throw new TypeConversionException("must be more than 0");
            }
            return duration;
        }
    }

    /** A duration, or {@code off} (zero: never). */
    static final class DurationOrOff implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            return value.equals("off") ? Duration.ZERO : parseDuration(value);
        }
    }

    /** A TCP port, 0 to 65535; 0 picks a free one. */
    static final class Port implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            return parsePort(value, value);
        }
    }

    /** {@code LOW-HIGH}, ports 1 to 65535 with LOW at most HIGH. */
    static final class PortRange implements ITypeConverter<SourcePorts> {
        @Override
        public SourcePorts convert(String value) {
            try {
                return SourcePorts.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException("'" + value + "' is not a port range (LOW-HIGH within 1-65535, LOW at most HIGH)");
            }
        }
    }

    /** An address to listen on: an IP literal or a name that resolves. */
    static final class BindAddress implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            try {
                InetAddress.getByName(value);
                return value;
            } catch (UnknownHostException | SecurityException e) {
                throw new TypeConversionException("'" + value + "' is not an address");
            }
        }
    }

    /** {@code HOST:PORT} or {@code [IPv6]:PORT}, resolved. */
    static final class HostPort implements ITypeConverter<InetSocketAddress> {
        @Override
        public InetSocketAddress convert(String value) {
            Matcher m = HOST_PORT.matcher(value);
            if (!m.matches()) {
                throw new TypeConversionException("'" + value + "' is not HOST:PORT or [IPv6]:PORT");
            }
            String host = m.group(1) != null ? m.group(1) : m.group(2);
            int port = parsePort(m.group(3), value);
            try {
                return new InetSocketAddress(InetAddress.getByName(host), port);
            } catch (UnknownHostException | SecurityException e) {
                throw new TypeConversionException("'" + value + "': cannot resolve " + host);
            }
        }
    }

    /** Bytes, or a whole number with {@code k}, {@code m} or {@code g} (powers of 1024): {@code 64k}. */
    static final class Size implements ITypeConverter<Integer> {
        private static final Pattern SIZE = Pattern.compile("(\\d{1,10})([kKmMgG]?)");

        @Override
        public Integer convert(String value) {
            Matcher m = SIZE.matcher(value);
            if (m.matches()) {
                long bytes = Long.parseLong(m.group(1)) << switch (m.group(2).toLowerCase(Locale.ROOT)) {
                    case "k" -> 10;
                    case "m" -> 20;
                    case "g" -> 30;
                    default -> 0;
                };
                if (bytes <= Integer.MAX_VALUE) {
                    return (int) bytes;
                }
            }
            throw new TypeConversionException("'" + value + "' is not a size (bytes, or with k, m or g: 64k)");
        }
    }

    /** {@code echo} or {@code http}. */
    static final class ProtocolName implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            String name = value.toLowerCase(Locale.ROOT);
            if (!name.equals("echo") && !name.equals("http")) {
                throw new TypeConversionException("'" + value + "' is not a protocol (echo or http)");
            }
            return name;
        }
    }

    static String formatDuration(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
    }

    /** {@code auto}, {@code epoll} or {@code nio} (io_uring is not offered: see {@code Transport.IO_URING}); availability is checked when the command runs. */
    static final class TransportName implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            String name = value.toLowerCase(Locale.ROOT);
            if (!name.equals("auto") && !name.equals("epoll") && !name.equals("nio")) {
                throw new TypeConversionException("'" + value + "' is not a transport (auto, epoll or nio)");
            }
            return name;
        }
    }

    static Duration parseDuration(String value) {
        Matcher m = DURATION.matcher(value);
        if (!m.matches()) {
            throw new TypeConversionException("'" + value + "' is not a duration (use 250ms, 30s, 2m or 1h)");
        }
        long amount = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(amount);
            case "s" -> Duration.ofSeconds(amount);
            case "m" -> Duration.ofMinutes(amount);
            default -> Duration.ofHours(amount);
        };
    }

    private static int parsePort(String port, String whole) {
        try {
            int n = Integer.parseInt(port);
            if (n >= 0 && n <= 65535) {
                return n;
            }
        } catch (NumberFormatException e) {
            // Reported below.
        }
        throw new TypeConversionException("'" + whole + "' is not a port (0-65535)");
    }

    /** {@code 127.0.0.1:7000}, or {@code [::1]:7000} for IPv6. */
    static String format(InetSocketAddress address) {
        InetAddress ip = address.getAddress();
        if (ip == null) {
            return address.getHostString() + ":" + address.getPort();
        }
        String host = ip.getHostAddress();
        if (ip instanceof Inet6Address) {
            int scope = host.indexOf('%');
            return "[" + compress(scope >= 0 ? host.substring(0, scope) : host) + "]:" + address.getPort();
        }
        return host + ":" + address.getPort();
    }

    /** RFC 5952 short form: the longest run of two or more zero groups becomes "::" ({@code ::1}). */
    private static String compress(String fullIpv6) {
        String[] groups = fullIpv6.split(":");
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < groups.length; ) {
            int j = i;
            while (j < groups.length && groups[j].equals("0")) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        if (bestStart < 0) {
            return fullIpv6;
        }
        String head = String.join(":", java.util.Arrays.copyOfRange(groups, 0, bestStart));
        String tail = String.join(":", java.util.Arrays.copyOfRange(groups, bestStart + bestLength, groups.length));
        return head + "::" + tail;
    }

    /** The operating system's words ("Connection refused"), without Netty's wrapping or the address. */
    static String systemReason(Throwable cause) {
        String message = cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
        int errno = message.lastIndexOf("): ");
        if (errno >= 0) {
            message = message.substring(errno + 3);
        }
        int address = message.indexOf(": /");
        return address > 0 ? message.substring(0, address) : message;
    }

    /** Durations as the user writes them: {@code 250ms}, {@code 30s}. */
    static String format(Duration duration) {
        long millis = duration.toMillis();
        return millis % 1000 == 0 ? millis / 1000 + "s" : millis + "ms";
    }
}

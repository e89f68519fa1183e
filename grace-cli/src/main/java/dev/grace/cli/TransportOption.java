package dev.grace.cli;

import dev.grace.Transport;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code --transport auto|epoll|nio}, shared by every command that opens sockets on Netty. The
 * name is checked while parsing; whether the transport loads here is checked only when the
 * command runs ({@link #chosen()}), so {@code --help} never loads native code.
 */
final class TransportOption {
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(names = "--transport", defaultValue = "auto", converter = Values.TransportName.class, paramLabel = "auto|epoll|nio",
            description = "Netty transport (default: ${DEFAULT-VALUE}: epoll where it loads, else nio). nio cannot read TCP_INFO: delivery is then reported as unknown.")
    String name;

    /**
     * The transport asked for, loaded.
     *
     * @throws ParameterException (a usage error naming the flag) when it cannot load here
     */
    Transport chosen() {
        try {
            return Transport.parse(name);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(command.commandLine(), "Invalid value for option '--transport': " + e.getMessage());
        }
    }
}

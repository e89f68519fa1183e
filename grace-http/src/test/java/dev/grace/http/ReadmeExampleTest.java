package dev.grace.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.grace.testkit.FdLeakCheck;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The README's HTTP example is docs/examples/HelloHttp.java, and run as shown it drains a keep-alive client losing nothing. */
@ExtendWith(FdLeakCheck.class)
class ReadmeExampleTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Path EXAMPLE = ROOT.resolve("docs/examples/HelloHttp.java");

    @Test
    void theReadmeShowsTheExampleFileAsItIs() throws Exception {
        String readme = Files.readString(ROOT.resolve("README.md"));
        assertThat(readme).contains("```java\n" + Files.readString(EXAMPLE) + "```");
    }

    @Test
    void runAsShownItDrainsAKeepAliveClientWithNoFailedRequest() throws Exception {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        // Its stderr (a JDK's warnings about native access, say) goes to the test's.
        Process example = new ProcessBuilder(java.toString(), "-cp", classPath, EXAMPLE.toString(), "0")
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(example.getInputStream(), StandardCharsets.UTF_8))) {
            String listening = out.readLine();
            assertThat(listening).startsWith("listening on 127.0.0.1:");
            int port = Integer.parseInt(listening.substring(listening.lastIndexOf(':') + 1));
            List<RawHttp.Response> responses = new ArrayList<>();
            RawHttp.End end;
            try (RawHttp client = new RawHttp(new InetSocketAddress("127.0.0.1", port))) {
                for (int i = 0; i < 5; i++) {
                    responses.add(client.exchange("/"));
                }
                Process kill = new ProcessBuilder("kill", "-TERM", String.valueOf(example.pid())).start();
                assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
                for (int i = 0; i < 10_000 && !responses.get(responses.size() - 1).saysClose(); i++) {
                    responses.add(client.exchange("/"));
                }
                end = client.awaitEnd();
            }
            String drained = out.readLine();
            assertThat(example.waitFor(20, TimeUnit.SECONDS)).isTrue();

            assertThat(responses).allSatisfy(r -> assertThat(r.body()).isEqualTo("hello\n"));
            assertThat(responses.get(responses.size() - 1).saysClose()).isTrue();
            assertThat(end).isEqualTo(RawHttp.End.FIN);
            assertThat(drained).isEqualTo("drained: 1 graceful, 1 told Connection: close");
            assertThat(example.exitValue()).isZero();
        } finally {
            example.destroyForcibly();
        }
    }
}

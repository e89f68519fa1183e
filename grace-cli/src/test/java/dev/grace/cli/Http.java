package dev.grace.cli;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** GETs against the admin endpoint. */
final class Http {
    private Http() {}

    record Response(int status, String body) {}

    static Response get(InetSocketAddress admin, String path) throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + admin.getHostString() + ":" + admin.getPort() + path))
                .timeout(Duration.ofSeconds(10)).GET().build();
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        return new Response(response.statusCode(), response.body());
    }

    /** The value of an unlabelled or labelled sample line, e.g. {@code grace_connections_closed_total{outcome="PEER_RESET"}}. */
    static double metric(String exposition, String nameAndLabels) {
        for (String line : exposition.split("\n")) {
            if (line.startsWith(nameAndLabels + " ")) {
                return Double.parseDouble(line.substring(nameAndLabels.length() + 1).trim());
            }
        }
        throw new AssertionError("no metric " + nameAndLabels + " in:\n" + exposition);
    }
}

package dev.flightdeck.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.parse.Diagnostic;
import dev.flightdeck.api.resource.Json;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The CLI's HTTP client for the API (java.net.http; no other dependency). Turns every failure
 * into a {@link CliException} with the documented exit code: problems with positioned errors
 * become {@code file:line:column: field: message} lines.
 */
final class ApiClient {

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String base;
  private final Optional<String> token;

  ApiClient(String base, Optional<String> token) {
    this.base = base;
    this.token = token;
  }

  String base() {
    return base;
  }

  JsonNode get(String path) {
    return Json.read(new String(send("GET", path, null, null, Duration.ofSeconds(60)), StandardCharsets.UTF_8));
  }

  /** A GET whose answer is text, not JSON (the Prometheus metrics). */
  String text(String path) {
    return new String(send("GET", path, null, null, Duration.ofSeconds(60)), StandardCharsets.UTF_8);
  }

  JsonNode delete(String path) {
    byte[] b = send("DELETE", path, null, null, Duration.ofSeconds(60));
    return b.length == 0 ? Json.object() : Json.read(new String(b, StandardCharsets.UTF_8));
  }

  JsonNode post(String path, String contentType, byte[] body) {
    byte[] b = send("POST", path, contentType, body, Duration.ofSeconds(120));
    return b.length == 0 ? Json.object() : Json.read(new String(b, StandardCharsets.UTF_8));
  }

  /** Opens a streaming GET (watch, export); the caller closes the stream. */
  InputStream stream(String path) {
    HttpResponse<InputStream> r = exchange(request("GET", path, null, null, Optional.empty()),
        HttpResponse.BodyHandlers.ofInputStream());
    if (r.statusCode() >= 400) {
      try (InputStream in = r.body()) {
        throw problem(r.statusCode(), in.readAllBytes());
      } catch (IOException e) {
        throw unreachable(e);
      }
    }
    return r.body();
  }

  private byte[] send(String method, String path, String contentType, byte[] body, Duration timeout) {
    HttpResponse<byte[]> r = exchange(request(method, path, contentType, body, Optional.of(timeout)),
        HttpResponse.BodyHandlers.ofByteArray());
    if (r.statusCode() >= 400) {
      throw problem(r.statusCode(), r.body());
    }
    return r.body();
  }

  /** Sends a request; transport failures become "unreachable" (exit 3). */
  private <T> HttpResponse<T> exchange(HttpRequest req, HttpResponse.BodyHandler<T> handler) {
    try {
      return http.send(req, handler);
    } catch (IOException e) {
      throw unreachable(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCodes.FAILED, "error: interrupted");
    }
  }

  private HttpRequest request(String method, String path, String contentType, byte[] body, Optional<Duration> timeout) {
    URI uri;
    try {
      uri = URI.create(base + path);
    } catch (IllegalArgumentException e) {
      throw new CliException(ExitCodes.INVALID, "error: invalid server URL " + base + ": " + e.getMessage());
    }
    HttpRequest.Builder b = HttpRequest.newBuilder(uri)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body))
        .header("Accept", "application/json, application/problem+json");
    timeout.ifPresent(b::timeout);
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    token.ifPresent(t -> b.header("Authorization", "Bearer " + t));
    return b.build();
  }

  private CliException unreachable(IOException e) {
    String why = e instanceof ConnectException || e instanceof HttpConnectTimeoutException
        ? "connection refused or timed out" : String.valueOf(e.getMessage());
    return new CliException(ExitCodes.UNREACHABLE, "error: cannot reach the Flightdeck server at " + base + " (" + why
        + "). Is it running? Start it with `./flightdeck server`, or point --server / FLIGHTDECK_SERVER at it.");
  }

  private CliException problem(int status, byte[] body) {
    JsonNode p;
    try {
      p = Json.read(new String(body, StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      p = Json.object().put("detail", "HTTP " + status + " from " + base);
    }
    String detail = p.path("detail").asText("HTTP " + status);
    if (p.path("errors").isArray() && !p.path("errors").isEmpty()) {
      List<String> lines = new ArrayList<>();
      for (JsonNode e : p.path("errors")) {
        lines.add(new Diagnostic(e.path("source").asText(), e.path("line").asInt(), e.path("column").asInt(),
            e.path("path").asText(), e.path("message").asText()).toString());
      }
      lines.add("error: " + detail);
      return new CliException(ExitCodes.INVALID, lines);
    }
    return switch (status) {
      case 401 -> new CliException(ExitCodes.AUTH, "error: " + detail + (token.isEmpty()
          ? "\nhint: no token given; set FLIGHTDECK_TOKEN, pass --token, or run `flightdeck login`" : ""));
      case 403 -> new CliException(ExitCodes.AUTH, "error: " + detail);
      case 400, 413, 415, 422 -> new CliException(ExitCodes.INVALID, "error: " + detail);
      default -> new CliException(ExitCodes.FAILED, "error: " + detail);
    };
  }
}

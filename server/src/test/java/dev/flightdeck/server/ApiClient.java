package dev.flightdeck.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;

/** A minimal real-HTTP client for tests. */
final class ApiClient {

  record Response(int status, String contentType, String body) {
    JsonNode json() {
      return Json.read(body);
    }
  }

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String base;
  private final Optional<String> token;

  ApiClient(String base, Optional<String> token) {
    this.base = base;
    this.token = token;
  }

  ApiClient as(String newToken) {
    return new ApiClient(base, Optional.of(newToken));
  }

  Response send(String method, String path, String contentType, byte[] body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    token.ifPresent(t -> b.header("Authorization", "Bearer " + t));
    try {
      HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      return new Response(r.statusCode(), r.headers().firstValue("Content-Type").orElse(""), r.body());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  Response get(String path) {
    return send("GET", path, null, null);
  }

  Response delete(String path) {
    return send("DELETE", path, null, null);
  }

  Response postJson(String path, String json) {
    return send("POST", path, "application/json", json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  Response applyFiles(String... nameThenContent) {
    var files = Json.mapper().createArrayNode();
    for (int i = 0; i < nameThenContent.length; i += 2) {
      files.addObject().put("name", nameThenContent[i]).put("content", nameThenContent[i + 1]);
    }
    var body = Json.object();
    body.set("files", files);
    return send("POST", "/api/v1/apply", "application/vnd.flightdeck.files+json",
        Json.write(body).getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  HttpClient http() {
    return http;
  }

  String base() {
    return base;
  }

  Optional<String> token() {
    return token;
  }
}

package dev.flightdeck.gateway;

import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.parse.ResourceReader;
import dev.flightdeck.embeddings.MiniLm;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.audit.AuditLog;
import dev.flightdeck.store.resource.ResourceStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;

/** A store, a gateway on a free port, and helpers to apply resources and call agents. */
final class GatewayFixture implements AutoCloseable {

  private static final ResourceReader READER = new ResourceReader();

  final Database db;
  final AuditLog audit;
  final ResourceStore store;
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  Gateway gateway;
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  final String replica;

  GatewayFixture(Database db) {
    this(db, "test-replica");
  }

  /** A replica: its own store handle and gateway on {@code db}, as another process would have. */
  GatewayFixture(Database db, String replica) {
    this.db = db;
    this.replica = replica;
    this.audit = new AuditLog(db);
    this.store = new ResourceStore(db, audit, Clock.systemUTC());
    this.gateway = Gateway.start(db, store, registry, "127.0.0.1", 0, replica, () -> MiniLm.shared()::similarity);
  }

  /** Restarts the gateway on the same store (pins and routing must survive). */
  void restart() {
    gateway.close();
    gateway = Gateway.start(db, store, registry, "127.0.0.1", 0, replica, () -> MiniLm.shared()::similarity);
  }

  /** Applies YAML and waits until the gateway routes with it. */
  void apply(String yaml) {
    store(yaml);
    gateway.reload();
  }

  /** Applies YAML to the store only, as the API or another replica would. */
  void store(String yaml) {
    String docs = yaml.strip();
    if (docs.endsWith("---")) {
      docs = docs.substring(0, docs.length() - 3);
    }
    store.apply(READER.read(ResourceReader.Source.of("test.yaml", docs)), Principal.SYSTEM, false);
  }

  String url(String path) {
    return "http://127.0.0.1:" + gateway.port() + path;
  }

  HttpResponse<String> get(String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(20));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> post(String path, String body, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(20))
        .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json");
    if (headers.length > 0) {
      b.headers(headers);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static String agent(String name, String routes, String extra) {
    return """
        apiVersion: flightdeck.dev/v1alpha1
        kind: Agent
        metadata: {name: %s}
        spec:
          routes: %s
        %s
        ---
        """.formatted(name, routes, extra.indent(2).stripTrailing());
  }

  static String version(String agent, String name, String urls, String extra) {
    StringBuilder endpoints = new StringBuilder();
    for (String u : urls.split(",")) {
      if (!u.isBlank()) {
        endpoints.append("\n    - url: ").append(u.trim());
      }
    }
    return """
        apiVersion: flightdeck.dev/v1alpha1
        kind: AgentVersion
        metadata: {name: %s}
        spec:
          agent: %s
          models: [{id: gpt-4o-mini-2024-07-18}]
          endpoints:%s
        %s
        ---
        """.formatted(name, agent, endpoints.length() == 0 ? " []" : endpoints, extra.indent(2).stripTrailing());
  }

  @Override
  public void close() {
    gateway.close();
    audit.close();
    db.close();
  }
}

package dev.flightdeck.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.auth.Role;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.store.Dialect;
import dev.flightdeck.store.TestDatabases;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The REST API over real HTTP on loopback, backed by a real database. */
class ApiIT {

  @TempDir Path dir;
  private FlightdeckServer server;
  private ApiClient admin;
  private ApiClient anonymous;

  private void start(Dialect dialect) {
    Optional<String> url = dialect == Dialect.POSTGRES ? Optional.of(TestDatabases.freshPostgresUrl()) : Optional.empty();
    server = FlightdeckServer.start(new ServerOptions(dir, url, "127.0.0.1", 0, -1));
    String token = server.initialAdminToken().orElseThrow().secret();
    admin = new ApiClient(server.url(), Optional.of(token));
    anonymous = new ApiClient(server.url(), Optional.empty());
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private static String example(String file) throws Exception {
    return Files.readString(Path.of("..", "examples", file));
  }

  @Test
  void everyRouteButHealthAndReadinessRefusesRequestsWithoutAToken() {
    start(Dialect.SQLITE);
    List<String> checked = new ArrayList<>();
    for (String route : server.routes()) {
      String method = route.substring(0, route.indexOf(' '));
      String path = route.substring(route.indexOf(' ') + 1).replaceAll("\\{[^}]+}", "x");
      ApiClient.Response r = anonymous.send(method, path, "application/json", method.equals("GET") ? null : "{}".getBytes());
      if (path.equals("/healthz") || path.equals("/readyz")) {
        assertThat(r.status()).as(route).isEqualTo(200);
      } else {
        assertThat(r.status()).as(route).isEqualTo(401);
        assertThat(r.contentType()).as(route).startsWith("application/problem+json");
      }
      checked.add(route);
    }
    assertThat(checked).hasSizeGreaterThan(30);
    assertThat(anonymous.send("GET", "/api/v1/agents", null, null).json().path("detail").asText())
        .contains("missing Authorization header");
    assertThat(new ApiClient(server.url(), Optional.of("fd_not-a-real-token")).get("/api/v1/agents").status()).isEqualTo(401);
  }

  @Test
  void rolesAreCheckedOnEveryEndpoint_andRevokedTokensStopWorking() {
    start(Dialect.SQLITE);
    ApiClient.Response created = admin.postJson("/api/v1/tokens", "{\"name\":\"dashboard\",\"role\":\"viewer\"}");
    assertThat(created.status()).isEqualTo(201);
    ApiClient viewer = admin.as(created.json().path("token").asText());
    assertThat(viewer.get("/api/v1/agents").status()).isEqualTo(200);
    ApiClient.Response denied = viewer.applyFiles("a.yaml", "apiVersion: flightdeck.dev/v1alpha1\nkind: Agent\nmetadata: {name: a}\nspec: {}\n");
    assertThat(denied.status()).isEqualTo(403);
    assertThat(denied.json().path("detail").asText()).contains("has role viewer").contains("needs operator");
    assertThat(viewer.get("/api/v1/tokens").status()).isEqualTo(403);
    assertThat(viewer.get("/api/v1/whoami").json().path("name").asText()).isEqualTo("token:dashboard");

    String id = created.json().path("id").asText();
    assertThat(admin.delete("/api/v1/tokens/" + id).status()).isEqualTo(204);
    assertThat(viewer.get("/api/v1/agents").status()).isEqualTo(401);
    assertThat(admin.get("/api/v1/tokens").body()).doesNotContain(created.json().path("token").asText());
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void appliesTheExamples_thenGetsListsDescribesHistoryAndDeletes(Dialect dialect) throws Exception {
    start(dialect);
    ApiClient.Response applied = admin.applyFiles(
        "examples/support-triage.yaml", example("support-triage.yaml"),
        "examples/evalsuite.yaml", example("evalsuite.yaml"));
    assertThat(applied.status()).as(applied.body()).isEqualTo(200);
    assertThat(applied.json().path("results")).extracting(n -> n.path("change").asText()).containsOnly("created");

    assertThat(admin.applyFiles("examples/support-triage.yaml", example("support-triage.yaml")).json().path("results"))
        .extracting(n -> n.path("change").asText()).containsOnly("unchanged");

    JsonNode agent = admin.get("/api/v1/agents/support-triage").json();
    assertThat(agent.path("spec").path("routes").size()).isEqualTo(2);
    assertThat(admin.get("/api/v1/agentversions?labelSelector=team%3Dsupport").json().path("items")).hasSize(3);
    assertThat(admin.get("/api/v1/agentversions?labelSelector=team%3Dnobody").json().path("items")).isEmpty();
    assertThat(admin.get("/api/v1/agentversions/support-triage-v1").json().path("status").path("digest").asText())
        .startsWith("sha256:");

    String moved = example("support-triage.yaml").replace("weight: 90", "weight: 50").replace("weight: 10", "weight: 50");
    assertThat(admin.applyFiles("t.yaml", moved).status()).isEqualTo(200);
    JsonNode history = admin.get("/api/v1/agents/support-triage/history").json().path("items");
    assertThat(history).extracting(n -> n.path("operation").asText()).containsExactly("CREATED", "UPDATED");
    assertThat(history.get(0).path("principal").asText()).isEqualTo("token:admin");

    ApiClient.Response refused = admin.delete("/api/v1/agents/support-triage");
    assertThat(refused.status()).isEqualTo(409);
    assertThat(refused.json().path("detail").asText()).contains("agentversion/support-triage-v1");
    // Last, since the rollout controller starts it at once and takes over the agent's routing.
    assertThat(admin.applyFiles("examples/rollouts/canary.yaml", example("rollouts/canary.yaml")).status()).isEqualTo(200);
    assertThat(admin.delete("/api/v1/rollouts/support-triage-v2").status()).isEqualTo(200);
    assertThat(admin.get("/api/v1/rollouts/support-triage-v2").status()).isEqualTo(404);
    assertThat(admin.get("/api/v1/rollouts/support-triage-v2/history").json().path("items"))
        .extracting(n -> n.path("operation").asText()).containsExactly("CREATED", "DELETED");
  }

  @Test
  void invalidFilesGetEveryErrorWithPositions_andNothingIsApplied() {
    start(Dialect.SQLITE);
    String good = "apiVersion: flightdeck.dev/v1alpha1\nkind: Agent\nmetadata: {name: good}\nspec: {}\n";
    String bad = """
        apiVersion: flightdeck.dev/v1alpha1
        kind: Agent
        metadata:
          name: bad
        spec:
          routes:
            - version: bad-v1
              weight: ten
          ownr: me
        """;
    ApiClient.Response r = admin.applyFiles("good.yaml", good, "agent.yaml", bad);
    assertThat(r.status()).isEqualTo(422);
    assertThat(r.contentType()).startsWith("application/problem+json");
    JsonNode errors = r.json().path("errors");
    assertThat(errors).extracting(e -> e.path("source").asText() + ":" + e.path("line").asInt() + ":"
            + e.path("column").asInt() + ": " + e.path("path").asText() + ": " + e.path("message").asText())
        .containsExactly(
            "agent.yaml:8:15: spec.routes[0].weight: expected an integer 0..100, got \"ten\"",
            "agent.yaml:9:3: spec.ownr: unknown field; did you mean \"owner\"? expected one of description, owner, hosts, routes, rules, session, shadow, capacity, modelGateway");
    assertThat(admin.get("/api/v1/agents/good").status()).isEqualTo(404);
  }

  @Test
  void staleResourceVersionIsAConflict() {
    start(Dialect.SQLITE);
    String a = "apiVersion: flightdeck.dev/v1alpha1\nkind: Agent\nmetadata: {name: a, resourceVersion: \"RV\"}\nspec: {owner: OWNER}\n";
    admin.applyFiles("a.yaml", a.replace(", resourceVersion: \"RV\"", "").replace("OWNER", "one"));
    String rv = admin.get("/api/v1/agents/a").json().path("metadata").path("resourceVersion").asText();
    assertThat(admin.applyFiles("a.yaml", a.replace("RV", rv).replace("OWNER", "two")).status()).isEqualTo(200);
    ApiClient.Response stale = admin.applyFiles("a.yaml", a.replace("RV", rv).replace("OWNER", "three"));
    assertThat(stale.status()).isEqualTo(409);
    assertThat(stale.json().path("type").asText()).isEqualTo("urn:flightdeck:problem:conflict");
    assertThat(admin.get("/api/v1/agents/a").json().path("spec").path("owner").asText()).isEqualTo("two");
  }

  @Test
  void malformedAndHostileRequestsGetClearProblems() {
    start(Dialect.SQLITE);
    ApiClient.Response notJson = admin.send("POST", "/api/v1/apply", "application/vnd.flightdeck.files+json", "{nope".getBytes());
    assertThat(notJson.status()).isEqualTo(422);
    assertThat(admin.send("POST", "/api/v1/apply", "image/png", new byte[] {1, 2, 3}).status()).isEqualTo(415);
    assertThat(admin.send("POST", "/api/v1/apply", "application/yaml", new byte[0]).status()).isEqualTo(400);
    assertThat(admin.get("/api/v1/agents?labelSelector=a%20in%20(").status()).isEqualTo(400);
    assertThat(admin.get("/api/v1/nope").status()).isEqualTo(404);
    assertThat(admin.get("/api/v1/nope").contentType()).startsWith("application/problem+json");
    assertThat(admin.delete("/api/v1/agents/a?resourceVersion=abc").status()).isEqualTo(400);
    byte[] huge = new byte[17 * 1024 * 1024];
    java.util.Arrays.fill(huge, (byte) 'a');
    assertThat(admin.send("POST", "/api/v1/apply", "application/yaml", huge).status()).isEqualTo(413);
    String bomb = "a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n"
        + "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        + "e: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n";
    ApiClient.Response b = admin.send("POST", "/api/v1/apply?source=bomb.yaml", "application/yaml", bomb.getBytes());
    assertThat(b.status()).isEqualTo(422);
    assertThat(b.json().path("errors").get(0).path("source").asText()).isEqualTo("bomb.yaml");
    assertThat(admin.get("/healthz").status()).isEqualTo(200);
  }

  @Test
  void watchStreamsChangesAsServerSentEvents_andResumesFromLastEventId() throws Exception {
    start(Dialect.SQLITE);
    HttpRequest req = HttpRequest.newBuilder(URI.create(server.url() + "/api/v1/watch?kind=agents&since=0"))
        .header("Authorization", "Bearer " + admin.token().orElseThrow()).build();
    HttpResponse<java.io.InputStream> resp = admin.http().send(req, HttpResponse.BodyHandlers.ofInputStream());
    assertThat(resp.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
    CompletableFuture<List<String>> lines = CompletableFuture.supplyAsync(() -> {
      List<String> got = new ArrayList<>();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          got.add(line);
          if (line.startsWith("data:") && line.contains("\"UPDATED\"")) {
            return got;
          }
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      return got;
    });
    String a = "apiVersion: flightdeck.dev/v1alpha1\nkind: Agent\nmetadata: {name: w}\nspec: {owner: X}\n";
    admin.applyFiles("w.yaml", a.replace("X", "one"));
    admin.applyFiles("w.yaml", a.replace("X", "two"));
    List<String> got = lines.get(20, TimeUnit.SECONDS);
    assertThat(got).contains("event: CREATED", "event: UPDATED");
    assertThat(got.stream().filter(l -> l.startsWith("id: ")).toList()).containsExactly("id: 1", "id: 2");

    HttpRequest resume = HttpRequest.newBuilder(URI.create(server.url() + "/api/v1/watch?kind=agents"))
        .header("Authorization", "Bearer " + admin.token().orElseThrow()).header("Last-Event-ID", "1")
        .timeout(Duration.ofSeconds(20)).build();
    HttpResponse<java.io.InputStream> r2 = admin.http().send(resume, HttpResponse.BodyHandlers.ofInputStream());
    try (BufferedReader r = new BufferedReader(new InputStreamReader(r2.body(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null && !line.startsWith("id: ")) {
        // skip the comment line
      }
      assertThat(line).isEqualTo("id: 2");
    }
  }

  @Test
  void openApiDocumentListsEveryRouteTheServerServes() {
    start(Dialect.SQLITE);
    JsonNode doc;
    try {
      doc = new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
          .readTree(admin.get("/api/v1/openapi.yaml").body());
    } catch (java.io.IOException e) {
      throw new AssertionError(e);
    }
    for (String route : server.routes()) {
      String method = route.substring(0, route.indexOf(' ')).toLowerCase(java.util.Locale.ROOT);
      String path = route.substring(route.indexOf(' ') + 1);
      assertThat(doc.path("paths").path(path).has(method)).as("openapi.yaml documents " + route).isTrue();
    }
    assertThat(admin.get("/api/v1/schemas/agent.schema.json").json().path("title").asText()).isEqualTo("Agent");
  }

  @Test
  void metricsCountApiRequestsByRouteTemplateAndStoreOperations() {
    start(Dialect.SQLITE);
    admin.get("/api/v1/agents/missing");
    String metrics = admin.get("/metrics").body();
    assertThat(metrics).contains("flightdeck_api_requests_seconds_count{method=\"GET\",route=\"/api/v1/agents/{name}\",status=\"404\"}");
    assertThat(metrics).contains("flightdeck_store_operations_seconds_count{operation=\"get\"}");
    assertThat(metrics).doesNotContain(admin.token().orElseThrow());
  }

  @Test
  void everyChangeIsAuditedAndTheLogVerifiesExportsAndCatchesTampering() throws Exception {
    start(Dialect.SQLITE);
    admin.applyFiles("examples/support-triage.yaml", example("support-triage.yaml"));
    admin.postJson("/api/v1/tokens", "{\"name\":\"ci\",\"role\":\"operator\"}");
    JsonNode entries = admin.get("/api/v1/audit").json().path("items");
    assertThat(entries).extracting(e -> e.path("action").asText() + " " + e.path("resource").asText()).containsExactly(
        "token.create token/admin", "resource.create agent/support-triage",
        "resource.create agentversion/support-triage-v1", "resource.create agentversion/support-triage-v2",
        "resource.create agentversion/support-triage-v3", "token.create token/ci");
    assertThat(entries.get(1).path("principal").asText()).isEqualTo("token:admin");
    assertThat(entries.get(1).path("after").asText()).startsWith("sha256:");
    assertThat(admin.send("POST", "/api/v1/audit/verify", null, null).json().path("ok").asBoolean()).isTrue();

    ApiClient.Response export = admin.get("/api/v1/audit/export");
    assertThat(export.contentType()).startsWith("application/x-ndjson");
    var key = dev.flightdeck.api.audit.AuditExport.publicKey(admin.get("/api/v1/audit/key").json().path("publicKey").asText());
    assertThat(dev.flightdeck.api.audit.AuditExport.verify(
        new java.io.ByteArrayInputStream(export.body().getBytes(StandardCharsets.UTF_8)), Optional.of(key)).ok()).isTrue();

    server.database().inTransaction("tamper", tx -> tx.connection().createStatement()
        .executeUpdate("UPDATE fd_audit_entry SET principal = 'token:nobody' WHERE seq = 3"));
    JsonNode report = admin.send("POST", "/api/v1/audit/verify", null, null).json();
    assertThat(report.path("ok").asBoolean()).isFalse();
    assertThat(report.path("firstBad").path("seq").asLong()).isEqualTo(3);
  }

  @Test
  void firstAdminTokenIsIssuedOnceAndStoredOnlyAsAHash() throws Exception {
    start(Dialect.SQLITE);
    String secret = server.initialAdminToken().orElseThrow().secret();
    server.close();
    server = FlightdeckServer.start(ServerOptions.embedded(dir));
    assertThat(server.initialAdminToken()).isEmpty();
    byte[] dbBytes = Files.readAllBytes(dir.resolve("flightdeck.db"));
    assertThat(new String(dbBytes, StandardCharsets.ISO_8859_1)).doesNotContain(secret);
    assertThat(server.tokens().authenticate(secret)).isPresent();
    assertThat(server.tokens().list()).extracting(t -> t.role()).containsExactly(Role.ADMIN);
    assertThat(Principal.SYSTEM.role()).isEqualTo(Role.ADMIN);
    assertThat(Json.object()).isNotNull();
  }
}

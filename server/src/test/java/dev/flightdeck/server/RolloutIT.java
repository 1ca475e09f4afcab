package dev.flightdeck.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.parse.ResourceReader;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.gateway.routing.AgentRoute;
import dev.flightdeck.store.audit.AuditLog;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rollouts end to end: a real server with its gateway, two agent versions as real HTTP servers,
 * real traffic through the gateway, the controller deciding on the gateway's telemetry.
 */
class RolloutIT {

  @TempDir Path dir;
  private final List<HttpServer> servers = new ArrayList<>();
  private final List<JsonNode> hooks = new CopyOnWriteArrayList<>();
  /** The candidate's error rate. */
  private final AtomicReference<Double> candidateErrors = new AtomicReference<>(0.0);
  private final AtomicBoolean traffic = new AtomicBoolean();
  private FlightdeckServer fd;
  private ApiClient admin;
  private int v1Port;
  private int v2Port;
  private int hookPort;

  private HttpServer server(com.sun.net.httpserver.HttpHandler h) throws Exception {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 256);
    s.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    s.createContext("/", h);
    s.start();
    servers.add(s);
    return s;
  }

  private HttpServer agent(AtomicReference<Double> errorRate) throws Exception {
    return server(ex -> {
      ex.getRequestBody().readAllBytes();
      boolean fail = ThreadLocalRandom.current().nextDouble() < errorRate.get();
      byte[] b = "{\"answer\":\"billing\",\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20}}"
          .getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", "application/json");
      ex.sendResponseHeaders(fail ? 500 : 200, b.length);
      ex.getResponseBody().write(b);
      ex.close();
    });
  }

  @BeforeEach
  void start() throws Exception {
    v1Port = agent(new AtomicReference<>(0.0)).getAddress().getPort();
    v2Port = agent(candidateErrors).getAddress().getPort();
    hookPort = server(ex -> {
      hooks.add(Json.read(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)));
      ex.sendResponseHeaders(204, -1);
      ex.close();
    }).getAddress().getPort();
    fd = FlightdeckServer.start(ServerOptions.embedded(dir));
    admin = new ApiClient(fd.url(), Optional.of(fd.initialAdminToken().orElseThrow().secret()));
    apply("""
        apiVersion: flightdeck.dev/v1alpha1
        kind: Agent
        metadata: {name: triage}
        spec:
          routes: [{version: triage-v1, weight: 100}]
        ---
        apiVersion: flightdeck.dev/v1alpha1
        kind: AgentVersion
        metadata: {name: triage-v1}
        spec:
          agent: triage
          endpoints: [{url: "http://127.0.0.1:%d"}]
          models: [{id: gpt-4o-mini-2024-07-18}]
        ---
        apiVersion: flightdeck.dev/v1alpha1
        kind: AgentVersion
        metadata: {name: triage-v2}
        spec:
          agent: triage
          endpoints: [{url: "http://127.0.0.1:%d"}]
          models: [{id: gpt-4o-mini-2024-07-18}]
        """.formatted(v1Port, v2Port));
  }

  @AfterEach
  void stop() {
    traffic.set(false);
    if (fd != null) {
      fd.close();
    }
    servers.forEach(s -> s.stop(0));
  }

  private void apply(String yaml) {
    fd.resources().apply(new ResourceReader().read(ResourceReader.Source.of("test.yaml", yaml)), Principal.SYSTEM, false);
  }

  private void rollout(String steps) {
    apply("""
        apiVersion: flightdeck.dev/v1alpha1
        kind: Rollout
        metadata: {name: triage-v2}
        spec:
          agent: triage
          candidate: triage-v2
          notify: {webhook: "http://127.0.0.1:%d/hook"}
          strategy:
            canary:
              steps:
        %s
        """.formatted(hookPort, steps.indent(8)));
  }

  /** New sessions through the gateway, as fast as 8 clients go, until stopped. */
  private void startTraffic() {
    traffic.set(true);
    HttpClient http = HttpClient.newHttpClient();
    String url = fd.gatewayUrl().orElseThrow() + "/agents/triage/triage";
    for (int i = 0; i < 8; i++) {
      Thread.ofVirtual().start(() -> {
        while (traffic.get()) {
          try {
            http.send(HttpRequest.newBuilder(URI.create(url)).header("X-Flightdeck-Session", UUID.randomUUID().toString())
                .POST(HttpRequest.BodyPublishers.ofString("{\"ticket\":\"refund\"}")).build(),
                HttpResponse.BodyHandlers.discarding());
          } catch (Exception e) {
            // the test checks outcomes, not every request
          }
        }
      });
    }
  }

  private JsonNode status() {
    ApiClient.Response r = admin.get("/api/v1/rollouts/triage-v2/status");
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r.json();
  }

  private JsonNode decisions() {
    return admin.get("/api/v1/rollouts/triage-v2/decisions").json().path("items");
  }

  private int gatewayWeight(String version) {
    AgentRoute route = fd.gateway().orElseThrow().routing().agent("triage");
    int[] cumulative = route.cumulative();
    for (int i = 0; i < route.weighted().length; i++) {
      if (route.weighted()[i].equals(version)) {
        return cumulative[i] - (i == 0 ? 0 : cumulative[i - 1]);
      }
    }
    return 0;
  }

  @Test
  void aFailingCanaryIsRolledBackWithinASecondOfTheDecision_withEvidenceAuditAndWebhook() {
    candidateErrors.set(0.5);
    rollout("""
        - setWeight: 50
        - analysis:
            metrics: [{name: errorRate, maxIncrease: 0.05}]
            minSamples: 30
        - setWeight: 100
        """);
    startTraffic();
    await().atMost(Duration.ofSeconds(30)).until(() -> status().path("phase").asText().equals("RolledBack"));
    JsonNode rolledBack = null;
    for (JsonNode d : decisions()) {
      if (d.path("action").asText().equals("rolled-back")) {
        rolledBack = d;
      }
    }
    assertThat(rolledBack).isNotNull();
    long decidedAt = java.time.Instant.parse(rolledBack.path("at").asText()).toEpochMilli();
    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(5)).until(() -> gatewayWeight("triage-v2") == 0);
    long routedAt = System.currentTimeMillis();
    assertThat(routedAt - decidedAt).as("gateway routing back to stable after the decision, ms").isLessThan(1000);
    assertThat(gatewayWeight("triage-v1")).isEqualTo(100);

    JsonNode metric = rolledBack.path("evidence").path("metrics").get(0);
    assertThat(metric.path("metric").asText()).isEqualTo("errorRate");
    assertThat(metric.path("verdict").asText()).isEqualTo("fail");
    assertThat(metric.path("canary").path("n").asLong()).isGreaterThanOrEqualTo(30);
    assertThat(metric.path("bound").path("low").asDouble()).isPositive();
    assertThat(rolledBack.path("evidence").path("alpha").asDouble()).isEqualTo(0.01);
    assertThat(rolledBack.path("actor").asText()).isEqualTo("system:rollout-controller");

    // The decision is in the audit log with its evidence; the Agent's routing change too.
    AuditLog audit = fd.audit();
    List<String> actions = audit.list(0, 10_000).stream().map(e -> e.event().action() + " " + e.event().resource()).toList();
    assertThat(actions).contains("rollout.started rollout/triage-v2", "rollout.step.completed rollout/triage-v2",
        "rollout.rolled-back rollout/triage-v2", "resource.update agent/triage");
    assertThat(audit.verify().firstBad()).isEmpty();

    await().atMost(Duration.ofSeconds(5)).until(() -> !hooks.isEmpty());
    JsonNode hook = hooks.get(0);
    assertThat(hook.path("action").asText()).isEqualTo("rolled-back");
    assertThat(hook.path("text").asText()).contains("triage-v2", "rolled-back");
    assertThat(hook.path("evidence").path("metrics").isArray()).isTrue();

    // Sessions that started on the candidate finish there: it is reported as draining.
    JsonNode s = status();
    assertThat(s.path("weights").path("triage-v1").asInt()).isEqualTo(100);
    assertThat(s.path("draining").get(0).path("version").asText()).isEqualTo("triage-v2");
  }

  @Test
  void aHealthyCanaryPassesItsAnalysisAndIsPromoted_andUndoRestoresStable() {
    rollout("""
        - setWeight: 50
        - analysis:
            metrics: [{name: errorRate, maxIncrease: 0.2}, {name: latencyP95, maxRatio: 5}]
            minSamples: 50
        - setWeight: 100
        """);
    startTraffic();
    await().atMost(Duration.ofSeconds(60)).until(() -> status().path("phase").asText().equals("Promoted"));
    traffic.set(false);
    JsonNode passed = null;
    for (JsonNode d : decisions()) {
      if (d.path("action").asText().equals("step.completed") && d.path("evidence").has("metrics")) {
        passed = d;
      }
    }
    assertThat(passed).as("the analysis step's decision with its evidence").isNotNull();
    assertThat(passed.path("evidence").path("verdict").asText()).isEqualTo("pass");
    await().atMost(Duration.ofSeconds(2)).until(() -> gatewayWeight("triage-v2") == 100);
    assertThat(fd.resources().get(Kind.AGENT, "triage").orElseThrow().spec().path("routes").toString())
        .isEqualTo("[{\"version\":\"triage-v2\",\"weight\":100}]");

    ApiClient.Response undo = admin.send("POST", "/api/v1/rollouts/triage-v2/undo", null, null);
    assertThat(undo.status()).as(undo.body()).isEqualTo(200);
    assertThat(undo.json().path("phase").asText()).isEqualTo("Undone");
    await().atMost(Duration.ofSeconds(2)).until(() -> gatewayWeight("triage-v1") == 100);
  }

  @Test
  void manualVerbs_pauseResumePromoteAbortRetry_andConflictsSayWhy() {
    rollout("""
        - setWeight: 20
        - pause: {}
        - setWeight: 60
        - pause: {duration: 1h}
        """);
    await().atMost(Duration.ofSeconds(10)).until(() -> status().path("phase").asText().equals("Paused"));
    JsonNode s = status();
    assertThat(s.path("pausedBy").asText()).isEqualTo("step");
    assertThat(s.path("weights").path("triage-v2").asInt()).isEqualTo(20);

    ApiClient.Response conflict = admin.send("POST", "/api/v1/rollouts/triage-v2/retry", null, null);
    assertThat(conflict.status()).isEqualTo(409);
    assertThat(conflict.json().path("detail").asText()).contains("cannot retry", "Paused");

    ApiClient.Response bad = admin.send("POST", "/api/v1/rollouts/triage-v2/promote", "application/json",
        "{\"full\": \"yes\"}".getBytes(StandardCharsets.UTF_8));
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.json().path("detail").asText()).contains("full");

    ApiClient.Response promote = admin.send("POST", "/api/v1/rollouts/triage-v2/promote", null, null);
    assertThat(promote.status()).as(promote.body()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(10)).until(() -> status().path("step").path("index").asInt() == 3);
    assertThat(status().path("weights").path("triage-v2").asInt()).isEqualTo(60);
    await().atMost(Duration.ofSeconds(2)).until(() -> gatewayWeight("triage-v2") == 60);

    assertThat(admin.send("POST", "/api/v1/rollouts/triage-v2/pause", "application/json",
        "{\"reason\": \"checking dashboards\"}".getBytes(StandardCharsets.UTF_8)).status()).isEqualTo(200);
    assertThat(status().path("phase").asText()).isEqualTo("Paused");
    assertThat(admin.send("POST", "/api/v1/rollouts/triage-v2/resume", null, null).status()).isEqualTo(200);
    assertThat(admin.send("POST", "/api/v1/rollouts/triage-v2/abort", null, null).status()).isEqualTo(200);
    assertThat(status().path("phase").asText()).isEqualTo("Aborted");
    await().atMost(Duration.ofSeconds(2)).until(() -> gatewayWeight("triage-v1") == 100);

    assertThat(admin.send("POST", "/api/v1/rollouts/triage-v2/retry", null, null).status()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(10)).until(() -> status().path("phase").asText().equals("Paused"));
    assertThat(status().path("attempt").asInt()).isEqualTo(2);
    ApiClient.Response full = admin.send("POST", "/api/v1/rollouts/triage-v2/promote", "application/json",
        "{\"full\": true}".getBytes(StandardCharsets.UTF_8));
    assertThat(full.json().path("phase").asText()).isEqualTo("Promoted");

    List<String> actions = new ArrayList<>();
    decisions().forEach(d -> actions.add(d.path("action").asText() + "@" + d.path("step").asInt()));
    assertThat(actions).containsExactly("started@0", "step.completed@0", "paused@1", "step.completed@1",
        "step.completed@2", "paused@3", "resumed@3", "aborted@3", "retried@0", "step.completed@0", "paused@1",
        "promoted@1");
    assertThat(decisions().get(5).path("actor").asText()).startsWith("token:");
    assertThat(admin.get("/api/v1/rollouts/nope/status").status()).isEqualTo(404);
    assertThat(Arrays.asList(fd.routes().toArray())).contains("POST /api/v1/rollouts/{name}/promote");
  }

  private String versionServing(java.util.Map<String, String> headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(fd.gatewayUrl().orElseThrow() + "/agents/triage/x"))
        .POST(HttpRequest.BodyPublishers.ofString("{}"));
    headers.forEach(b::header);
    return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.discarding()).headers()
        .firstValue("X-Flightdeck-Version").orElse("");
  }

  @Test
  void evalGates_runTheSuiteAgainstTheCandidate_passingGoesOn_failingRollsBackWithTheEvalEvidence() {
    apply("""
        apiVersion: flightdeck.dev/v1alpha1
        kind: EvalSuite
        metadata: {name: golden}
        spec:
          runs: 4
          threshold: 0.9
          cases:
            - {name: refund, vars: {ticket: refund}, assert: [{type: contains, value: billing}]}
        ---
        apiVersion: flightdeck.dev/v1alpha1
        kind: EvalSuite
        metadata: {name: strict}
        spec:
          runs: 4
          threshold: 0.9
          cases:
            - {name: refund, vars: {ticket: refund}, assert: [{type: contains, value: escalate}]}
        """);
    rollout("""
        - evalGate: {suite: golden}
        - setWeight: 30
        - evalGate: {suite: strict}
        - setWeight: 100
        """);
    await().atMost(Duration.ofSeconds(30)).until(() -> status().path("phase").asText().equals("RolledBack"));
    JsonNode d = decisions();
    assertThat(d.get(1).path("action").asText()).isEqualTo("step.completed");
    assertThat(d.get(1).path("reason").asText()).contains("evalsuite/golden", "pass@1 1.000");
    assertThat(d.get(1).path("evidence").path("target").asText()).contains("triage-v2");
    JsonNode last = d.get(d.size() - 1);
    assertThat(last.path("action").asText()).isEqualTo("rolled-back");
    assertThat(last.path("step").asInt()).isEqualTo(2);
    assertThat(last.path("evidence").path("pass1").asDouble()).isZero();
    assertThat(last.path("evidence").path("failingCases").toString()).contains("refund");
  }

  @Test
  void blueGreen_previewByHeader_thenPromotionSwitchesEveryNewSession() throws Exception {
    apply("""
        apiVersion: flightdeck.dev/v1alpha1
        kind: Rollout
        metadata: {name: triage-v2}
        spec:
          agent: triage
          candidate: triage-v2
          strategy:
            blueGreen: {previewHeader: X-Preview}
        """);
    await().atMost(Duration.ofSeconds(10)).until(() -> status().path("pausedBy").asText().equals("step"));
    await().atMost(Duration.ofSeconds(2)).until(() -> versionServing(java.util.Map.of("X-Preview", "1")).equals("triage-v2"));
    assertThat(versionServing(java.util.Map.of())).isEqualTo("triage-v1");
    assertThat(status().path("weights").path("triage-v2").asInt()).isZero();

    assertThat(admin.send("POST", "/api/v1/rollouts/triage-v2/promote", null, null).status()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(10)).until(() -> status().path("phase").asText().equals("Promoted"));
    await().atMost(Duration.ofSeconds(2)).until(() -> versionServing(java.util.Map.of()).equals("triage-v2"));
    // The preview rule is gone with the rollout.
    assertThat(fd.resources().get(Kind.AGENT, "triage").orElseThrow().spec().has("rules")).isFalse();
  }

  @Test
  void rings_internalUsersByHeaderFirst_thenShares_andAShadowStepMirrorsForItsDuration() throws Exception {
    apply("""
        apiVersion: flightdeck.dev/v1alpha1
        kind: Rollout
        metadata: {name: triage-v2}
        spec:
          agent: triage
          candidate: triage-v2
          strategy:
            rings:
              rings:
                - name: staff
                  headers: {X-Team: staff}
                  analysis: {metrics: [{name: errorRate, max: 0.05}], minSamples: 1000000}
                - {name: everyone, percent: 100}
        """);
    await().atMost(Duration.ofSeconds(10)).until(() -> status().path("step").path("index").asInt() == 1);
    await().atMost(Duration.ofSeconds(2)).until(() -> versionServing(java.util.Map.of("X-Team", "staff")).equals("triage-v2"));
    assertThat(versionServing(java.util.Map.of("X-Team", "sales"))).isEqualTo("triage-v1");
    await().atMost(Duration.ofSeconds(2)).until(() -> status().path("analysis").has("verdict"));
    JsonNode s = status();
    assertThat(s.path("analysis").path("verdict").asText()).isEqualTo("wait");
    assertThat(s.path("analysis").path("metrics").get(0).path("reason").asText()).contains("of 1000000 canary samples");
    assertThat(admin.send("POST", "/api/v1/rollouts/triage-v2/promote", null, null).status()).isEqualTo(200);
    await().atMost(Duration.ofSeconds(10)).until(() -> status().path("phase").asText().equals("Promoted"));

    // A shadow step: the Agent mirrors to the candidate during the step only.
    apply("""
        apiVersion: flightdeck.dev/v1alpha1
        kind: Agent
        metadata: {name: triage}
        spec:
          routes: [{version: triage-v1, weight: 100}]
        ---
        apiVersion: flightdeck.dev/v1alpha1
        kind: Rollout
        metadata: {name: triage-v2}
        spec:
          agent: triage
          candidate: triage-v2
          strategy:
            canary:
              steps:
                - shadow: {percent: 100, duration: 2s}
                - setWeight: 100
        """);
    await().atMost(Duration.ofSeconds(10)).until(() -> fd.resources().get(Kind.AGENT, "triage").orElseThrow().spec()
        .path("shadow").path("version").asText().equals("triage-v2"));
    assertThat(status().path("steps").get(0).path("state").asText()).isEqualTo("current");
    await().atMost(Duration.ofSeconds(10)).until(() -> status().path("phase").asText().equals("Promoted"));
    assertThat(fd.resources().get(Kind.AGENT, "triage").orElseThrow().spec().has("shadow")).isFalse();
  }
}

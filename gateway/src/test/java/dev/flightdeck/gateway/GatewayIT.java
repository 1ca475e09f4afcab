package dev.flightdeck.gateway;

import static dev.flightdeck.gateway.GatewayFixture.agent;
import static dev.flightdeck.gateway.GatewayFixture.version;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.gateway.telemetry.MetricMoments;
import dev.flightdeck.gateway.telemetry.RequestRecord;
import dev.flightdeck.gateway.telemetry.WindowStats;
import dev.flightdeck.store.TestDatabases;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gateway over real HTTP on loopback, against upstreams that misbehave on purpose. */
class GatewayIT {

  @TempDir Path dir;
  GatewayFixture fx;
  TestUpstream a;
  TestUpstream b;

  @BeforeEach
  void setUp() throws Exception {
    fx = new GatewayFixture(TestDatabases.sqlite(dir));
    a = new TestUpstream("a");
    b = new TestUpstream("b");
  }

  @AfterEach
  void tearDown() throws Exception {
    fx.close();
    a.close();
    b.close();
  }

  private void twoVersions(int weightA, int weightB, String agentExtra, String versionExtra) {
    fx.apply(agent("triage", "[{version: triage-a, weight: %d}, {version: triage-b, weight: %d}]"
            .formatted(weightA, weightB), agentExtra)
        + version("triage", "triage-a", a.url(), versionExtra)
        + version("triage", "triage-b", b.url(), versionExtra));
  }

  private static JsonNode json(HttpResponse<String> r) {
    return Json.read(r.body());
  }

  @Test
  void proxiesAndInjectsSessionTraceAndVersionHeaders() throws Exception {
    twoVersions(100, 0, "", "");
    String incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    HttpResponse<String> r = fx.post("/agents/triage/echo?x=1", "{\"input\":\"hi\"}",
        "X-Flightdeck-Session", "s-1", "traceparent", incoming);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("X-Flightdeck-Version")).contains("triage-a");
    JsonNode body = json(r);
    assertThat(body.path("upstream").asText()).isEqualTo("a");
    assertThat(body.path("path").asText()).isEqualTo("/echo");
    assertThat(body.path("query").asText()).isEqualTo("x=1");
    assertThat(body.path("bodyBytes").asInt()).isEqualTo(14);
    JsonNode h = body.path("headers");
    assertThat(h.path("x-flightdeck-session").asText()).isEqualTo("s-1");
    assertThat(h.path("x-flightdeck-version").asText()).isEqualTo("triage-a");
    assertThat(h.path("x-flightdeck-agent").asText()).isEqualTo("triage");
    String tp = h.path("traceparent").asText();
    assertThat(tp).matches("00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01").isNotEqualTo(incoming);
    // Without an incoming trace, a new one starts.
    HttpResponse<String> fresh = fx.get("/agents/triage/echo");
    assertThat(json(fresh).path("headers").path("traceparent").asText()).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
  }

  @Test
  void unknownAgentAndNoRouteAreClearErrors() throws Exception {
    HttpResponse<String> r = fx.get("/agents/nobody/x");
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(json(r).path("error").path("code").asText()).isEqualTo("unknown_agent");
    fx.apply(agent("empty", "[{version: empty-v1, weight: 100}]", "")
        + version("empty", "empty-v1", "", "run: {command: [./agent]}"));
    HttpResponse<String> none = fx.get("/agents/empty/x");
    assertThat(none.statusCode()).isEqualTo(503);
    assertThat(json(none).path("error").path("code").asText()).isEqualTo("no_route");
    assertThat(json(none).path("error").path("message").asText()).contains("empty");
  }

  @Test
  void sessionsStayPinnedWhenWeightsChangeAndAcrossRestarts() throws Exception {
    twoVersions(50, 50, "", "");
    List<String> sessions = new ArrayList<>();
    List<String> first = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      String s = "sess-" + i;
      sessions.add(s);
      first.add(json(fx.get("/agents/triage/echo", "X-Flightdeck-Session", s)).path("upstream").asText());
    }
    assertThat(first).contains("a", "b");
    twoVersions(0, 100, "", "");
    for (int i = 0; i < sessions.size(); i++) {
      assertThat(json(fx.get("/agents/triage/echo", "X-Flightdeck-Session", sessions.get(i))).path("upstream").asText())
          .as("session %s after the weights changed", sessions.get(i)).isEqualTo(first.get(i));
    }
    // A new session follows the new weights.
    assertThat(json(fx.get("/agents/triage/echo", "X-Flightdeck-Session", "new-one")).path("upstream").asText()).isEqualTo("b");
    fx.restart();
    for (int i = 0; i < sessions.size(); i++) {
      assertThat(json(fx.get("/agents/triage/echo", "X-Flightdeck-Session", sessions.get(i))).path("upstream").asText())
          .as("session %s after a restart", sessions.get(i)).isEqualTo(first.get(i));
    }
  }

  @Test
  void sessionIdCanComeFromCookieOrBodyField() throws Exception {
    twoVersions(50, 50, "session: {cookie: sid, bodyField: conversation_id}", "");
    String viaCookie = json(fx.get("/agents/triage/echo", "Cookie", "sid=c-42")).path("headers")
        .path("x-flightdeck-session").asText();
    assertThat(viaCookie).isEqualTo("c-42");
    JsonNode viaBody = json(fx.post("/agents/triage/echo", "{\"conversation_id\":\"conv-7\",\"input\":\"x\"}"));
    assertThat(viaBody.path("headers").path("x-flightdeck-session").asText()).isEqualTo("conv-7");
    assertThat(viaBody.path("bodyBytes").asInt()).isEqualTo(40);
  }

  @Test
  void removedVersionGivesAClearErrorUnlessMigrationIsAllowed() throws Exception {
    twoVersions(0, 100, "", "");
    assertThat(json(fx.get("/agents/triage/echo", "X-Flightdeck-Session", "s")).path("upstream").asText()).isEqualTo("b");
    fx.apply(agent("triage", "[{version: triage-a, weight: 100}]", ""));
    fx.store.delete(dev.flightdeck.api.resource.Kind.AGENT_VERSION, "triage-b", 0, dev.flightdeck.api.auth.Principal.SYSTEM);
    fx.gateway.reload();
    HttpResponse<String> gone = fx.get("/agents/triage/echo", "X-Flightdeck-Session", "s");
    assertThat(gone.statusCode()).isEqualTo(410);
    assertThat(json(gone).path("error").path("code").asText()).isEqualTo("session_version_removed");
    fx.apply(agent("triage", "[{version: triage-a, weight: 100}]", "session: {onVersionRemoved: migrate}"));
    assertThat(json(fx.get("/agents/triage/echo", "X-Flightdeck-Session", "s")).path("upstream").asText()).isEqualTo("a");
    // The move is stored: it holds after a restart, when the weights change again.
    fx.restart();
    fx.apply(agent("triage", "[{version: triage-a, weight: 0}, {version: triage-c, weight: 100}]", "session: {onVersionRemoved: migrate}")
        + version("triage", "triage-c", b.url(), ""));
    assertThat(json(fx.get("/agents/triage/echo", "X-Flightdeck-Session", "s")).path("upstream").asText()).isEqualTo("a");
  }

  @Test
  void rulesRouteByHeaderCookieAndUserSegmentBeforeSessionsAndWeights() throws Exception {
    twoVersions(100, 0, """
        rules:
          - {name: internal, match: {headers: {X-Segment: internal}}, version: triage-b}
          - {name: beta-cookie, match: {cookies: {beta: "*"}}, version: triage-b}
          - {name: listed, match: {user: {header: X-User, in: [alice]}}, version: triage-b}
        """, "");
    assertThat(fx.get("/agents/triage/echo", "X-Segment", "internal").headers().firstValue("X-Flightdeck-Version"))
        .contains("triage-b");
    assertThat(fx.get("/agents/triage/echo", "Cookie", "beta=1").headers().firstValue("X-Flightdeck-Version"))
        .contains("triage-b");
    assertThat(fx.get("/agents/triage/echo", "X-User", "alice").headers().firstValue("X-Flightdeck-Version"))
        .contains("triage-b");
    assertThat(fx.get("/agents/triage/echo", "X-User", "bob").headers().firstValue("X-Flightdeck-Version"))
        .contains("triage-a");
    assertThat(fx.get("/agents/triage/echo", "X-Segment", "internal", "X-Flightdeck-Session", "pinned-elsewhere")
        .headers().firstValue("X-Flightdeck-Version")).contains("triage-b");
  }

  @Test
  void everyRequestIsRecordedWithTheRuleAndSessionThatRoutedIt() throws Exception {
    twoVersions(100, 0, "rules: [{name: internal, match: {headers: {X-Segment: internal}}, version: triage-b}]", "");
    List<RequestRecord> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (AutoCloseable sub = fx.gateway.onRequest(seen::add)) {
      fx.get("/agents/triage/echo", "X-Segment", "internal");
      fx.get("/agents/triage/echo", "X-Flightdeck-Session", "s\\\"1");
      fx.get("/agents/triage/echo", "X-Flightdeck-Session", "s\\\"1");
      await().atMost(Duration.ofSeconds(5)).until(() -> seen.size() == 3);
    }
    assertThat(seen).extracting(RequestRecord::rule).containsExactly("internal", "weight", "session");
    assertThat(seen).extracting(RequestRecord::session).containsExactly(null, "s\\\"1", "s\\\"1");
    assertThat(seen).extracting(RequestRecord::version).containsExactly("triage-b", "triage-a", "triage-a");
    assertThat(seen).allSatisfy(r -> assertThat(r.status()).isEqualTo(200));
    // The access log line is JSON, whatever the (printable) session id holds.
    JsonNode line = Json.read(seen.get(1).toJson());
    assertThat(line.path("session").asText()).isEqualTo("s\\\"1");
    assertThat(line.path("rule").asText()).isEqualTo("weight");
    assertThat(line.path("totalMs").asDouble()).isPositive();
  }

  @Test
  void sseStreamsChunkByChunkAndUsageIsRecorded() throws Exception {
    twoVersions(100, 0, "", "");
    HttpRequest req = HttpRequest.newBuilder(URI.create(fx.url("/agents/triage/sse?n=3&gate=g1"))).build();
    HttpResponse<InputStream> r = fx.http.send(req, HttpResponse.BodyHandlers.ofInputStream());
    assertThat(r.headers().firstValue("content-type")).contains("text/event-stream");
    try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
      // The upstream holds the rest of the stream until we have read the first event:
      // if the gateway buffered, this read would never return.
      assertThat(in.readLine()).contains("\"chunk\":0");
      a.release("g1");
      List<String> rest = in.lines().toList();
      assertThat(rest).anyMatch(l -> l.contains("\"chunk\":2")).anyMatch(l -> l.contains("[DONE]"));
    }
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      WindowStats s = fx.gateway.stats("triage-a", Duration.ofMinutes(1));
      assertThat(s.requests()).isEqualTo(1);
      assertThat(s.tokens()).isEqualTo(120);
    });
    fx.get("/agents/triage/echo");
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertThat(fx.gateway.stats("triage-a", Duration.ofMinutes(1)).tokens()).isEqualTo(135));
  }

  @Test
  void customMetricHeadersAreCountedPerVersionAndPassedToTheClient() throws Exception {
    // Given an agent whose version reports tool errors on some responses
    twoVersions(100, 0, "", "");
    long from = System.currentTimeMillis() / 1000;
    // When 10 requests go through, 4 of them answered with X-Flightdeck-Metric-Tool-Errors: 1,
    // and one more with values the gateway must ignore
    for (int i = 0; i < 10; i++) {
      HttpResponse<String> r = fx.get("/agents/triage/echo" + (i % 3 == 0 ? "?metric=Tool-Errors:1" : ""));
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("X-Flightdeck-Metric-Tool-Errors")).isEqualTo(
          i % 3 == 0 ? java.util.Optional.of("1") : java.util.Optional.empty());
    }
    // (A non-ASCII header name never gets this far: Jetty's client rejects the response as malformed HTTP.)
    HttpResponse<String> hostile = fx.get("/agents/triage/echo?metric=Tool-Errors:NaN&metric=Policy-Denials:1e309"
        + "&metric=Bad!Name:1&metric=Huge:1e300");
    assertThat(hostile.statusCode()).as(hostile.body()).isEqualTo(200);
    // Then the version's window counts 4 observations summing to 4, and nothing else
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      WindowStats s = fx.gateway.stats("triage-a", from);
      assertThat(s.requests()).isEqualTo(11);
      assertThat(s.custom()).containsOnly(Map.entry("tool-errors", new MetricMoments(4, 4, 4)));
      assertThat(s.tokensSquared()).isEqualTo(11 * 15.0 * 15);
    });
    assertThat(fx.gateway.stats("triage-b", from).custom()).isEmpty();
    // And every replica's controller reads the same from the store
    fx.gateway.flush();
    WindowStats stored = fx.gateway.storedStats("triage-a", from);
    assertThat(stored.requests()).isEqualTo(11);
    assertThat(stored.metric("tool-errors")).isEqualTo(new MetricMoments(4, 4, 4));
  }

  @Test
  void upstreamBreakingMidStreamIsVisibleToTheClient() throws Exception {
    twoVersions(100, 0, "", "");
    // The SSE client gets the gateway's error event, and then the stream is aborted (not ended cleanly).
    HttpResponse<InputStream> sse = fx.http.send(HttpRequest.newBuilder(URI.create(fx.url("/agents/triage/cut-sse"))).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    List<String> lines = new ArrayList<>();
    try (BufferedReader in = new BufferedReader(new InputStreamReader(sse.body(), StandardCharsets.UTF_8))) {
      assertThatThrownBy(() -> {
        for (String l = in.readLine(); l != null; l = in.readLine()) {
          lines.add(l);
        }
      }).isInstanceOf(IOException.class);
    }
    assertThat(lines).anyMatch(l -> l.contains("\"chunk\":0")).contains("event: error")
        .anyMatch(l -> l.contains("upstream_reset"));
    assertThatThrownBy(() -> fx.get("/agents/triage/cut-chunked")).isInstanceOf(IOException.class);
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertThat(fx.gateway.stats("triage-a", Duration.ofMinutes(1)).errors()).isEqualTo(2));
  }

  @Test
  void faultsBecomeStableErrorCodes() throws Exception {
    String dead = "http://127.0.0.1:" + freePort();
    fx.apply(agent("dead", "[{version: dead-v1, weight: 100}]", "")
        + version("dead", "dead-v1", dead, "circuitBreaker: {consecutiveFailures: 3, openFor: 30s}"));
    HttpResponse<String> refused = fx.get("/agents/dead/x");
    assertThat(refused.statusCode()).isEqualTo(502);
    assertThat(json(refused).path("error").path("code").asText()).isEqualTo("upstream_unavailable");
    fx.get("/agents/dead/x");
    fx.get("/agents/dead/x");
    HttpResponse<String> open = fx.get("/agents/dead/x");
    assertThat(open.statusCode()).isEqualTo(503);
    assertThat(json(open).path("error").path("code").asText()).isEqualTo("circuit_open");
    assertThat(open.headers().firstValue("Retry-After")).isPresent();

    twoVersions(100, 0, "", "timeouts: {firstByte: 300ms, idle: 500ms}");
    HttpResponse<String> slow = fx.get("/agents/triage/slow?ms=2000");
    assertThat(slow.statusCode()).isEqualTo(504);
    assertThat(json(slow).path("error").path("code").asText()).isEqualTo("upstream_timeout");
    assertThat(json(slow).path("error").path("message").asText()).contains("first-byte");
    // Idle after the first bytes: the stream is aborted, not ended cleanly.
    assertThatThrownBy(() -> fx.get("/agents/triage/stall")).isInstanceOf(IOException.class);
    HttpResponse<String> garbage = fx.get("/agents/triage/garbage");
    assertThat(garbage.statusCode()).isEqualTo(502);
    assertThat(json(garbage).path("error").path("code").asText()).isEqualTo("upstream_reset");
    // An upstream's own 503 is passed through as it is: it is the agent's answer, not the gateway's.
    HttpResponse<String> own = fx.get("/agents/triage/status?code=503");
    assertThat(own.statusCode()).isEqualTo(503);
    assertThat(own.body()).isEqualTo("status");
  }

  @Test
  void refusedConnectionsAreRetriedOnAnotherReplicaAndTheDeadOneIsEjected() throws Exception {
    String dead = "http://127.0.0.1:" + freePort();
    fx.apply(agent("triage", "[{version: triage-a, weight: 100}]", "")
        + version("triage", "triage-a", dead + "," + a.url(), "outlierDetection: {consecutiveFailures: 2, ejectFor: 60s}"));
    for (int i = 0; i < 50; i++) {
      assertThat(fx.get("/agents/triage/echo").statusCode()).isEqualTo(200);
    }
    assertThat(a.requests.get()).isEqualTo(50);
  }

  @Test
  void admissionControlQueuesThenRejectsWithRetryAfter() throws Exception {
    twoVersions(100, 0, "capacity: {maxConcurrency: 2, maxQueue: 1, queueTimeout: 5s}", "");
    ExecutorService pool = Executors.newFixedThreadPool(6);
    try {
      List<Future<HttpResponse<String>>> calls = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        calls.add(pool.submit(() -> fx.get("/agents/triage/slow?ms=700")));
      }
      int ok = 0;
      int rejected = 0;
      for (Future<HttpResponse<String>> f : calls) {
        HttpResponse<String> r = f.get();
        if (r.statusCode() == 200) {
          ok++;
        } else {
          assertThat(r.statusCode()).isEqualTo(429);
          assertThat(json(r).path("error").path("code").asText()).isEqualTo("overloaded");
          assertThat(r.headers().firstValue("Retry-After")).contains("5");
          rejected++;
        }
      }
      assertThat(ok).isEqualTo(3);
      assertThat(rejected).isEqualTo(3);
    } finally {
      pool.shutdownNow();
    }
    // the slot is released when the exchange completes, which may be just after the client read it
    await().atMost(Duration.ofSeconds(5)).untilAsserted(
        () -> assertThat(fx.gateway.routing().agent("triage").gate().inFlight()).isZero());
  }

  @Test
  void webSocketUpgradesPassThroughWithInjectedHeadersAndCloseCodes() throws Exception {
    twoVersions(100, 0, "", "");
    List<RequestRecord> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    AutoCloseable sub = fx.gateway.onRequest(seen::add);
    BlockingQueue<String> got = new LinkedBlockingQueue<>();
    CompletableFuture<String> closed = new CompletableFuture<>();
    WebSocket.Listener listener = new WebSocket.Listener() {
      final StringBuilder text = new StringBuilder();
      long binary;

      @Override
      public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
        text.append(data);
        if (last) {
          got.add(text.toString());
          text.setLength(0);
        }
        ws.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
        binary += data.remaining();
        if (last) {
          got.add("binary:" + binary);
          binary = 0;
        }
        ws.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onClose(WebSocket ws, int code, String reason) {
        closed.complete(code + " " + reason);
        return null;
      }
    };
    HttpClient http = HttpClient.newHttpClient();
    WebSocket ws;
    try {
      ws = http.newWebSocketBuilder().header("X-Flightdeck-Session", "ws-1").header("X-Client", "c1")
          .subprotocols("chat.v1").buildAsync(URI.create(fx.url("/agents/triage/ws").replace("http:", "ws:")), listener)
          .get(10, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof WebSocketHandshakeException h) {
        throw new AssertionError("handshake refused: " + h.getResponse().statusCode() + " " + h.getResponse().body(), e);
      }
      throw e;
    }
    assertThat(ws.getSubprotocol()).isEqualTo("chat.v1");
    JsonNode hello = Json.read(got.poll(10, TimeUnit.SECONDS));
    assertThat(hello.path("upstream").asText()).isEqualTo("a");
    assertThat(hello.path("X-Flightdeck-Version").asText()).isEqualTo("triage-a");
    assertThat(hello.path("X-Flightdeck-Session").asText()).isEqualTo("ws-1");
    assertThat(hello.path("X-Client").asText()).isEqualTo("c1");
    assertThat(hello.path("traceparent").asText()).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");

    ws.sendText("hello", true).get(5, TimeUnit.SECONDS);
    assertThat(got.poll(10, TimeUnit.SECONDS)).isEqualTo("echo:hello");
    String big = "x".repeat(300_000); // sent in two fragments, relayed fragment by fragment
    ws.sendText(big.substring(0, 150_000), false).get(5, TimeUnit.SECONDS);
    ws.sendText(big.substring(150_000), true).get(5, TimeUnit.SECONDS);
    assertThat(got.poll(10, TimeUnit.SECONDS)).isEqualTo("echo:" + big);
    ws.sendBinary(ByteBuffer.wrap(new byte[70_000]), true).get(5, TimeUnit.SECONDS);
    assertThat(got.poll(10, TimeUnit.SECONDS)).isEqualTo("binary:70000");

    ws.sendText("close", true);
    assertThat(closed.get(10, TimeUnit.SECONDS)).isEqualTo("4000 bye");
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(seen).singleElement().satisfies(r -> {
      assertThat(r.status()).isEqualTo(101);
      assertThat(r.session()).isEqualTo("ws-1");
      assertThat(r.bytesIn()).isGreaterThan(370_000);
    }));
    sub.close();

    // The agent refuses the upgrade: the client's handshake fails with the gateway's error.
    assertThatThrownBy(() -> http.newWebSocketBuilder()
        .buildAsync(URI.create(fx.url("/agents/triage/not-a-socket").replace("http:", "ws:")), listener)
        .get(10, TimeUnit.SECONDS))
        .hasCauseInstanceOf(WebSocketHandshakeException.class)
        .satisfies(x -> {
          HttpResponse<?> r = ((WebSocketHandshakeException) x.getCause()).getResponse();
          assertThat(r.statusCode()).isEqualTo(502);
          assertThat(r.headers().firstValue("X-Flightdeck-Error")).contains("upgrade_refused");
        });
  }

  @Test
  void shadowTrafficIsComparedButNeverReachesTheClient() throws Exception {
    b.answer = "different";
    twoVersions(100, 0, "shadow: {version: triage-b, percent: 100}", "");
    for (int i = 0; i < 20; i++) {
      HttpResponse<String> r = fx.post("/agents/triage/echo?plain=1", "{\"input\":\"" + i + "\"}");
      assertThat(r.headers().firstValue("X-Flightdeck-Version")).contains("triage-a");
      assertThat(json(r).path("answer").asText()).isEqualTo("ok");
    }
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      WindowStats s = fx.gateway.stats("triage-b", Duration.ofMinutes(1));
      assertThat(s.shadowRequests()).isEqualTo(20);
      assertThat(s.shadowDifferent()).isEqualTo(20);
      assertThat(s.requests()).isZero();
    });
    assertThat(b.requests.get()).isEqualTo(20);
    b.answer = "ok";
    fx.post("/agents/triage/echo?plain=1", "{\"input\":\"same\"}");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThat(fx.gateway.stats("triage-b", Duration.ofMinutes(1)).shadowRequests()).isEqualTo(21));
    assertThat(fx.gateway.stats("triage-b", Duration.ofMinutes(1)).shadowDifferent()).isEqualTo(20);
  }

  @Test
  void semanticShadowComparisonTellsAParaphraseFromADifferentAnswer() throws Exception {
    a.answer = "I routed your ticket to the billing queue because the invoice amount is wrong.";
    b.answer = "Your ticket went to billing: the amount on the invoice is incorrect.";
    twoVersions(100, 0, "shadow: {version: triage-b, percent: 100, compare: semantic, minSimilarity: 0.6}", "");
    for (int i = 0; i < 5; i++) {
      fx.post("/agents/triage/echo?plain=1", "{\"input\":\"" + i + "\"}");
    }
    // The model loads on the first comparison (a few seconds), on a shadow worker.
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
        assertThat(fx.gateway.stats("triage-b", Duration.ofMinutes(1)).shadowRequests()).isEqualTo(5));
    assertThat(fx.gateway.stats("triage-b", Duration.ofMinutes(1)).shadowDifferent()).isZero();

    b.answer = "The weather in Lisbon will be sunny tomorrow with light winds.";
    for (int i = 0; i < 5; i++) {
      fx.post("/agents/triage/echo?plain=1", "{\"input\":\"" + i + "\"}");
    }
    await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
        assertThat(fx.gateway.stats("triage-b", Duration.ofMinutes(1)).shadowRequests()).isEqualTo(10));
    assertThat(fx.gateway.stats("triage-b", Duration.ofMinutes(1)).shadowDifferent()).isEqualTo(5);
    assertThat(fx.registry.find("flightdeck_gateway_shadow_similarity").summary().count()).isEqualTo(10);
  }

  @Test
  void largeUploadsStreamThroughWithoutBeingHeld() throws Exception {
    twoVersions(100, 0, "", "");
    long size = 64L * 1024 * 1024;
    CompletableFuture<Void> upstreamSawData = new CompletableFuture<>();
    InputStream body = new InputStream() {
      long sent;

      @Override
      public int read() {
        throw new UnsupportedOperationException();
      }

      @Override
      public int read(byte[] buf, int off, int len) {
        if (sent >= size) {
          return -1;
        }
        if (sent >= size / 2 && !upstreamSawData.isDone()) {
          // Half-way, the upstream must already have bytes: the gateway is not holding the body.
          await().atMost(Duration.ofSeconds(10)).until(() -> a.uploadedSoFar.get() > 1024 * 1024);
          upstreamSawData.complete(null);
        }
        int n = (int) Math.min(len, size - sent);
        sent += n;
        return n;
      }
    };
    HttpRequest req = HttpRequest.newBuilder(URI.create(fx.url("/agents/triage/upload")))
        .POST(HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(() -> body), size))
        .build();
    HttpResponse<String> r = fx.http.send(req, HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r).path("received").asLong()).isEqualTo(size);
    assertThat(upstreamSawData).isDone();
  }

  @Test
  void routingChangesApplyWithinASecondWithoutDroppingStreams() throws Exception {
    twoVersions(100, 0, "", "");
    HttpRequest req = HttpRequest.newBuilder(URI.create(fx.url("/agents/triage/sse?n=3&gate=g2"))).build();
    HttpResponse<InputStream> stream = fx.http.send(req, HttpResponse.BodyHandlers.ofInputStream());
    BufferedReader in = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8));
    assertThat(in.readLine()).contains("\"chunk\":0");
    // Change the weights through the store only (as the API or another replica would) and time it.
    long start = System.nanoTime();
    fx.store(agent("triage", "[{version: triage-a, weight: 0}, {version: triage-b, weight: 100}]", ""));
    await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(10)).until(() ->
        "b".equals(json(fx.get("/agents/triage/echo")).path("upstream").asText()));
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
    a.release("g2");
    assertThat(in.lines().toList()).anyMatch(l -> l.contains("[DONE]"));
    in.close();
  }

  @Test
  void noThreadOrConnectionLeakAfterTenThousandFailedRequests() throws Exception {
    String dead = "http://127.0.0.1:" + freePort();
    fx.apply(agent("dead", "[{version: dead-v1, weight: 100}]", "")
        + version("dead", "dead-v1", dead, "circuitBreaker: {consecutiveFailures: 10000}")
        + agent("triage", "[{version: triage-a, weight: 100}]", "")
        + version("triage", "triage-a", a.url(), "timeouts: {firstByte: 20ms}\ncircuitBreaker: {consecutiveFailures: 10000}"));
    ExecutorService pool = Executors.newFixedThreadPool(32);
    try {
      warm(pool, "/agents/dead/x", 500);
      warm(pool, "/agents/triage/slow?ms=500", 100);
      Thread.sleep(500);
      long threadsBefore = gatewayThreads();
      warm(pool, "/agents/dead/x", 9_000);
      warm(pool, "/agents/triage/slow?ms=500", 1_000);
      await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
        // The gateway's pool may grow to its maximum under load, but no thread per failure.
        assertThat(gatewayThreads()).isLessThanOrEqualTo(Math.max(threadsBefore, 24));
        // The upstream's open connections: the gateway keeps at most its pool, not one per failure.
        assertThat(a.connector.getConnectedEndPoints().size()).isLessThan(64);
        assertThat(fx.gateway.routing().agent("dead").versions().get("dead-v1").balancer().endpoints().get(0).inFlight()).isZero();
        assertThat(fx.gateway.routing().agent("triage").versions().get("triage-a").balancer().endpoints().get(0).inFlight()).isZero();
      });
    } finally {
      pool.shutdownNow();
    }
  }

  private void warm(ExecutorService pool, String path, int n) throws Exception {
    List<Future<Integer>> fs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      fs.add(pool.submit(() -> fx.get(path).statusCode()));
    }
    for (Future<Integer> f : fs) {
      assertThat(f.get()).isIn(502, 504);
    }
  }

  private static long gatewayThreads() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("flightdeck-")).count();
  }

  static int freePort() throws IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @SuppressWarnings("unused")
  private static String id() {
    return UUID.randomUUID().toString();
  }
}

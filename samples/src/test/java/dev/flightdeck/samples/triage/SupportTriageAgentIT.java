package dev.flightdeck.samples.triage;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.sim.Scenario;
import dev.flightdeck.sim.SimulatedLlm;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The three versions of examples/support-triage.yaml against the simulated LLM playing
 * examples/sim/support-triage.yaml, over real HTTP: given the golden tickets of
 * examples/evalsuite.yaml, v1 routes all but login problems, v2 routes them all, v3 loops on
 * outage tickets and spends about three times v2's tokens on the rest.
 */
class SupportTriageAgentIT {

  static final Path RESOURCES = GoldenTickets.EXAMPLES.resolve("support-triage.yaml");
  static final HttpClient http = HttpClient.newHttpClient();
  static SimulatedLlm sim;
  static SupportTriageAgent v1;
  static SupportTriageAgent v2;
  static SupportTriageAgent v3;

  record Reply(int status, JsonNode body) {}

  @BeforeAll
  static void start() {
    sim = SimulatedLlm.start("127.0.0.1", 0, Scenario.read(GoldenTickets.EXAMPLES.resolve("sim/support-triage.yaml")));
    v1 = agent("support-triage-v1", sim.baseUrl());
    v2 = agent("support-triage-v2", sim.baseUrl());
    v3 = agent("support-triage-v3", sim.baseUrl());
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable c : new AutoCloseable[] {v1, v2, v3, sim}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        // closing: nothing to do
      }
    }
  }

  static SupportTriageAgent agent(String version, String baseUrl) {
    return SupportTriageAgent.start(TriageConfig.fromResources(RESOURCES, version, URI.create(baseUrl), "sim-key"), 0);
  }

  static Reply post(SupportTriageAgent agent, String path, String body, Map<String, String> headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + path))
        .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(b::header);
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Reply(r.statusCode(), Json.read(r.body()));
  }

  static Reply triage(SupportTriageAgent agent, String ticket) throws Exception {
    return post(agent, "/triage", Json.write(Json.object().put("ticket", ticket)), Map.of());
  }

  static List<String> tools(JsonNode trajectory) {
    List<String> out = new ArrayList<>();
    trajectory.forEach(s -> out.add(s.path("tool").asText()));
    return out;
  }

  @Test
  void v2RoutesEveryGoldenTicket_afterLookingUpTheCustomer() throws Exception {
    for (GoldenTickets t : GoldenTickets.read()) {
      Reply r = triage(v2, t.ticket());
      assertThat(r.status()).as(t.name() + ": " + r.body()).isEqualTo(200);
      assertThat(r.body().path("queue").asText()).as(t.name()).isEqualTo(t.queue());
      assertThat(r.body().path("answer").asText()).startsWith(t.queue() + ": ");
      assertThat(r.body().path("version").asText()).isEqualTo("support-triage-v2");
      JsonNode first = r.body().path("trajectory").get(0);
      assertThat(first.path("tool").asText()).isEqualTo("lookup_customer");
      assertThat(first.path("args")).isEqualTo(Json.read("{\"field\": \"all\"}"));
      assertThat(Json.read(first.path("result").asText()).path("customer").asText()).as(t.name())
          .isEqualTo(t.ticket().replaceFirst("^From: (\\S+)\\. .*$", "$1"));
      JsonNode usage = r.body().path("usage");
      assertThat(usage.path("model_calls").asLong()).isEqualTo(r.body().path("trajectory").size() + 1L);
      assertThat(usage.path("total_tokens").asLong()).isPositive()
          .isEqualTo(usage.path("prompt_tokens").asLong() + usage.path("completion_tokens").asLong());
    }
  }

  @Test
  void v1RoutesAllButLoginProblems_whichItSendsToIncidents() throws Exception {
    List<String> wrong = new ArrayList<>();
    for (GoldenTickets t : GoldenTickets.read()) {
      Reply r = triage(v1, t.ticket());
      assertThat(r.status()).as(t.name() + ": " + r.body()).isEqualTo(200);
      if (!r.body().path("queue").asText().equals(t.queue())) {
        wrong.add(t.name() + " -> " + r.body().path("queue").asText());
      }
    }
    assertThat(wrong).containsExactly("password-reset -> incidents");
    Reply login = triage(v1, GoldenTickets.named("password-reset").ticket());
    assertThat(tools(login.body().path("trajectory"))).containsExactly("search_kb");
    assertThat(login.body().at("/trajectory/0/result").asText()).contains("KB-301");
  }

  @Test
  void v3LoopsOnOutageTickets_untilItsToolCallLimit() throws Exception {
    for (String name : List.of("dashboard-down", "api-timeouts")) {
      Reply r = triage(v3, GoldenTickets.named(name).ticket());
      assertThat(r.status()).as(name + ": " + r.body()).isEqualTo(502);
      assertThat(r.body().at("/error/code").asText()).isEqualTo("too_many_tool_calls");
      JsonNode trajectory = r.body().path("trajectory");
      assertThat(trajectory.size()).isEqualTo(25);
      trajectory.forEach(s -> {
        assertThat(s.path("tool").asText()).isEqualTo("search_kb");
        assertThat(s.path("args")).isEqualTo(trajectory.get(0).path("args"));
      });
      assertThat(r.body().at("/usage/model_calls").asLong()).isEqualTo(26);
    }
  }

  @Test
  void v3SpendsAboutThreeTimesV2sTokens_onTheTicketsItStillRoutes() throws Exception {
    long v1Tokens = 0;
    long v2Tokens = 0;
    long v3Tokens = 0;
    int routed = 0;
    for (GoldenTickets t : GoldenTickets.read()) {
      Reply r3 = triage(v3, t.ticket());
      if (r3.status() != 200) {
        continue;
      }
      routed++;
      assertThat(r3.body().path("queue").asText()).as(t.name()).isEqualTo(t.queue());
      v3Tokens += r3.body().at("/usage/total_tokens").asLong();
      v2Tokens += triage(v2, t.ticket()).body().at("/usage/total_tokens").asLong();
      v1Tokens += triage(v1, t.ticket()).body().at("/usage/total_tokens").asLong();
    }
    double v3OverV2 = (double) v3Tokens / v2Tokens;
    double v2OverV1 = (double) v2Tokens / v1Tokens;
    System.out.printf("tokens over %d routed golden tickets: v1 %d, v2 %d, v3 %d; v3/v2 %.2f, v2/v1 %.2f%n",
        routed, v1Tokens, v2Tokens, v3Tokens, v3OverV2, v2OverV1);
    assertThat(routed).isEqualTo(8);
    assertThat(v3OverV2).isBetween(2.5, 3.5);
    // v2 is no dearer than v1, so a canary's tokensPerRequest check (maxRatio 1.5) passes.
    assertThat(v2OverV1).isBetween(0.7, 1.3);
  }

  @Test
  void forwardsTheSessionHeaderOnEveryModelCall() throws Exception {
    List<String> sessions = new CopyOnWriteArrayList<>();
    HttpServer recorder = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    recorder.createContext("/", ex -> {
      sessions.add(String.valueOf(ex.getRequestHeaders().getFirst("X-Flightdeck-Session")));
      try (InputStream in = ex.getRequestBody(); OutputStream out = ex.getResponseBody()) {
        HttpResponse<byte[]> upstream = http.send(HttpRequest.newBuilder(URI.create(sim.baseUrl().replaceFirst("/v1$", "")
                + ex.getRequestURI())).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(in.readAllBytes())).build(), HttpResponse.BodyHandlers.ofByteArray());
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(upstream.statusCode(), upstream.body().length);
        out.write(upstream.body());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
    });
    recorder.start();
    try (SupportTriageAgent agent = agent("support-triage-v2", "http://127.0.0.1:" + recorder.getAddress().getPort() + "/v1")) {
      Reply r = post(agent, "/triage", Json.write(Json.object().put("ticket", GoldenTickets.named("export-projects").ticket())),
          Map.of("X-Flightdeck-Session", "conv-42"));
      assertThat(r.status()).as(r.body().toString()).isEqualTo(200);
      assertThat(sessions).hasSize(3).containsOnly("conv-42");
      sessions.clear();
      assertThat(triage(agent, "From: ana@northwind.example. refund please").status()).isEqualTo(200);
      assertThat(sessions).hasSize(2).containsOnly("null");
    } finally {
      recorder.stop(0);
    }
  }

  @Test
  void badRequestsGetClearErrors() throws Exception {
    Reply notJson = post(v1, "/triage", "{\"ticket\": ", Map.of());
    assertThat(notJson.status()).isEqualTo(400);
    assertThat(notJson.body().at("/error/code").asText()).isEqualTo("invalid_json");
    for (String body : List.of("[]", "{}", "{\"ticket\": 3}", "{\"ticket\": \"  \"}", "null")) {
      Reply r = post(v1, "/triage", body, Map.of());
      assertThat(r.status()).as(body).isEqualTo(400);
      assertThat(r.body().at("/error/message").asText()).as(body).contains("{\"ticket\": \"...\"}");
    }
    Reply huge = post(v1, "/triage", "{\"ticket\": \"" + "a".repeat(SupportTriageAgent.MAX_BODY) + "\"}", Map.of());
    assertThat(huge.status()).isEqualTo(413);
    assertThat(huge.body().at("/error/code").asText()).isEqualTo("request_too_large");
    HttpResponse<String> get = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + v1.port() + "/triage")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(get.statusCode()).isEqualTo(405);
    HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + v1.port() + "/healthz")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(post(v1, "/nowhere", "{}", Map.of()).status()).isEqualTo(404);
  }

  @Test
  void modelErrorsAreNon2xx_429PassesThroughAndTheRestAre502() throws Exception {
    try (SimulatedLlm refusing = SimulatedLlm.start("127.0.0.1", 0, Scenario.parse("refusing.yaml", """
            models: [gpt-4o-mini-2024-07-18]
            rules:
              - {name: halted, when: {user: halt}, fault: {kind: status, status: 429}}
              - {name: broken, when: {user: broken}, fault: {kind: status, status: 500}}
              - {name: garbled, when: {user: garbled}, fault: {kind: malformed}}
            """));
        SupportTriageAgent agent = agent("support-triage-v1", refusing.baseUrl())) {
      Reply limited = triage(agent, "halt");
      assertThat(limited.status()).isEqualTo(429);
      assertThat(limited.body().at("/error/code").asText()).isEqualTo("simulated_429");
      Reply broken = triage(agent, "broken");
      assertThat(broken.status()).isEqualTo(502);
      assertThat(broken.body().at("/error/message").asText()).contains("HTTP 500");
      assertThat(triage(agent, "garbled").status()).isEqualTo(502);
    }
    int dead;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      dead = s.getLocalPort();
    }
    try (SupportTriageAgent agent = agent("support-triage-v1", "http://127.0.0.1:" + dead + "/v1")) {
      Reply r = triage(agent, "anything");
      assertThat(r.status()).isEqualTo(502);
      assertThat(r.body().at("/error/code").asText()).isEqualTo("model_unreachable");
    }
  }
}

package dev.flightdeck.server.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.parse.ResourceReader;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.server.FlightdeckServer;
import dev.flightdeck.server.ServerOptions;
import dev.flightdeck.store.eval.EvalRunStore;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Health evals: a scheduled suite runs against a live agent, is stored, exported, and notifies on a drop. */
class EvalScheduleIT {

  @TempDir Path dir;

  static HttpServer server(com.sun.net.httpserver.HttpHandler h) throws Exception {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    s.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    s.createContext("/", h);
    s.start();
    return s;
  }

  @Test
  void scheduledSuite_runsStoresExportsAndNotifiesWhenTheScoreDrops() throws Exception {
    AtomicReference<String> queue = new AtomicReference<>("billing");
    List<JsonNode> hooks = new CopyOnWriteArrayList<>();
    HttpServer agent = server(ex -> {
      ex.getRequestBody().readAllBytes();
      byte[] b = ("{\"answer\":\"Routed to " + queue.get() + "\"}").getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, b.length);
      ex.getResponseBody().write(b);
      ex.close();
    });
    HttpServer hook = server(ex -> {
      hooks.add(Json.read(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)));
      ex.sendResponseHeaders(204, -1);
      ex.close();
    });
    try (FlightdeckServer fd = FlightdeckServer.start(ServerOptions.embedded(dir))) {
      String suite = """
          apiVersion: flightdeck.dev/v1alpha1
          kind: EvalSuite
          metadata: {name: health}
          spec:
            target: http://127.0.0.1:%d
            schedule: "*/1 * * * * *"
            runs: 3
            threshold: 0.9
            notify: {webhook: "http://127.0.0.1:%d/hook"}
            cases:
              - {name: refund, vars: {ticket: refund}, assert: [{type: contains, value: billing}]}
          """.formatted(agent.getAddress().getPort(), hook.getAddress().getPort());
      fd.resources().apply(new ResourceReader().read(ResourceReader.Source.of("health.yaml", suite)), Principal.SYSTEM, false);
      EvalRunStore runs = new EvalRunStore(fd.database());

      await().atMost(Duration.ofSeconds(15)).until(() -> runs.list("health", 10).stream()
          .anyMatch(r -> r.state().equals("passed")));
      assertThat(hooks).isEmpty();
      assertThat(scrape(fd)).contains("flightdeck_eval_pass_rate{suite=\"health\"} 1.0");

      queue.set("general"); // the agent regresses
      await().atMost(Duration.ofSeconds(15)).until(() -> !hooks.isEmpty());
      JsonNode h = hooks.get(0);
      assertThat(h.path("suite").asText()).isEqualTo("health");
      assertThat(h.path("pass1").asDouble()).isZero();
      assertThat(h.path("failingCases").get(0).asText()).isEqualTo("refund");
      assertThat(h.path("text").asText()).contains("pass@1 0.000").contains("below 0.900");
      assertThat(runs.list("health", 50)).anyMatch(r -> r.state().equals("failed") && r.pass1().orElseThrow() == 0.0);

      // Slots are claimed: a slot already taken (by another replica) is not run twice.
      long slot = runs.list("health", 1).get(0).scheduledAt();
      assertThat(runs.claim("health", slot, "other-replica")).isFalse();

      // The API lists the stored runs.
      String token = fd.initialAdminToken().orElseThrow().secret();
      HttpResponse<String> res = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create(fd.url() + "/api/v1/evalsuites/health/runs?limit=5")).header("Authorization", "Bearer " + token).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(res.statusCode()).isEqualTo(200);
      assertThat(Json.read(res.body()).path("items").size()).isBetween(1, 5);
    } finally {
      agent.stop(0);
      hook.stop(0);
    }
  }

  @Test
  void invalidSchedule_isRejectedOnApply() {
    String suite = """
        apiVersion: flightdeck.dev/v1alpha1
        kind: EvalSuite
        metadata: {name: bad}
        spec:
          schedule: "every day"
          cases: [{name: a, assert: [{type: contains, value: x}]}]
        """;
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ResourceReader().read(ResourceReader.Source.of("bad.yaml", suite)))
        .hasMessageContaining("bad.yaml:5:").hasMessageContaining("spec.schedule").hasMessageContaining("cron expression");
  }

  private static String scrape(FlightdeckServer fd) throws Exception {
    String token = fd.initialAdminToken().orElseThrow().secret();
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(fd.url() + "/metrics"))
        .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString()).body();
  }
}

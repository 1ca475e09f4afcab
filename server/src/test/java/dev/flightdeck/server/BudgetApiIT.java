package dev.flightdeck.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.parse.ResourceReader;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.sim.Scenario;
import dev.flightdeck.sim.SimulatedLlm;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A budget's counters over real HTTP: model calls through the gateway of a real server (the
 * simulated LLM as provider) are charged, and the API lists what each session and day spent.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BudgetApiIT {

  private static final String SESSIONS = "/api/v1/budgets/triage-per-session/counters";

  @TempDir static Path dir;
  FlightdeckServer fd;
  SimulatedLlm sim;
  ApiClient viewer;
  /** total_tokens of the calls made, by session. */
  long conv1;
  long conv2;

  @BeforeAll
  void start() throws Exception {
    String scenario = Files.readString(Path.of("../examples/sim/support-triage.yaml"))
        .replaceAll("(?m)^latency: .*$", "latency: {value: 1ms}");
    sim = SimulatedLlm.start("127.0.0.1", 0, Scenario.parse("support-triage.yaml", scenario));
    fd = FlightdeckServer.start(ServerOptions.embedded(dir));
    String yaml = Files.readString(Path.of("../examples/support-triage.yaml")) + "\n---\n"
        + Files.readString(Path.of("../examples/models/gateway.yaml")).replace("http://127.0.0.1:8089/v1", sim.baseUrl());
    fd.resources().apply(new ResourceReader().read(ResourceReader.Source.of("budgets.yaml", yaml)), Principal.SYSTEM, false);
    String key = fd.modelKeys().create("support-triage", "support-triage-v1", "budgets", Principal.SYSTEM).secret();
    fd.gateway().orElseThrow().reload();
    fd.gateway().orElseThrow().models().housekeeping();
    ApiClient admin = new ApiClient(fd.url(), Optional.of(fd.initialAdminToken().orElseThrow().secret()));
    viewer = admin.as(admin.postJson("/api/v1/tokens", "{\"name\":\"dash\",\"role\":\"viewer\"}").json()
        .path("token").asText());
    String chat = fd.gatewayUrl().orElseThrow() + "/v1/chat/completions";
    conv1 = call(chat, key, "conv-1", "my invoice is wrong") + call(chat, key, "conv-1", "the site is down");
    conv2 = call(chat, key, "conv-2", "the site is down");
  }

  @AfterAll
  void stop() {
    if (fd != null) {
      fd.close();
    }
    if (sim != null) {
      sim.close();
    }
  }

  private static long call(String url, String key, String session, String text) throws IOException, InterruptedException {
    String body = "{\"model\":\"gpt-4o-mini-2024-07-18\",\"max_tokens\":200,\"messages\":[{\"role\":\"user\",\"content\":\""
        + text + "\"}]}";
    HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url))
        .header("Authorization", "Bearer " + key).header("X-Flightdeck-Session", session)
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return Json.read(r.body()).path("usage").path("total_tokens").asLong();
  }

  private static List<String> counters(JsonNode page) {
    return StreamSupport.stream(page.path("items").spliterator(), false).map(c -> c.path("counter").asText()).toList();
  }

  @Test
  void aViewerSeesWhatEachSessionSpent_settledExactly() {
    assertThat(conv1).isPositive();
    // A call is settled just after its answer's last byte: wait for the second session's.
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      JsonNode page = viewer.get(SESSIONS).json();
      assertThat(page.path("items").get(1).path("reserved").path("tokens").asLong()).isZero();
    });
    ApiClient.Response r = viewer.get(SESSIONS);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    JsonNode page = r.json();
    assertThat(page.path("budget").asText()).isEqualTo("triage-per-session");
    assertThat(page.path("spec").path("tokens").asLong()).isEqualTo(50_000);
    assertThat(counters(page)).containsExactly("session/support-triage/conv-1", "session/support-triage/conv-2");
    assertThat(page.has("next")).isFalse();
    JsonNode first = page.path("items").get(0);
    // Too small to lease (50,000 tokens): every call reserved and settled in the store.
    assertThat(first.path("used").path("tokens").asLong()).isEqualTo(conv1);
    assertThat(first.path("reserved").path("tokens").asLong()).isZero();
    assertThat(first.path("limit").path("tokens").asLong()).isEqualTo(50_000);
    assertThat(first.path("limit").path("usd").isNull()).isTrue();
    assertThat(first.path("remaining").path("tokens").asLong()).isEqualTo(50_000 - conv1);
    assertThat(page.path("items").get(1).path("used").path("tokens").asLong()).isEqualTo(conv2);
  }

  @Test
  void theDailyCostBudget_showsItsDaysCounterInDollars() {
    JsonNode page = viewer.get("/api/v1/budgets/triage-daily/counters").json();
    String today = LocalDate.now(ZoneOffset.UTC).toString();
    assertThat(counters(page)).containsExactly("agent/support-triage/" + today);
    JsonNode c = page.path("items").get(0);
    assertThat(c.path("limit").path("usd").asText()).isEqualTo("5");
    assertThat(c.path("limit").path("tokens").isNull()).isTrue();
    // $5 a day is leased in slices: what the calls used is settled when the slice is returned,
    // and until then the slice is reserved. Either way the calls are covered.
    double spent = Double.parseDouble(c.path("used").path("usd").asText())
        + Double.parseDouble(c.path("reserved").path("usd").asText());
    assertThat(spent).isPositive();
    assertThat(c.path("used").path("usd").asText()).doesNotContain("E");
  }

  @Test
  void pagesFollowNext_andUnitNarrowsToAPrefix() {
    JsonNode one = viewer.get(SESSIONS + "?limit=1").json();
    assertThat(counters(one)).containsExactly("session/support-triage/conv-1");
    assertThat(one.path("next").asText()).isEqualTo("session/support-triage/conv-1");
    JsonNode two = viewer.get(SESSIONS + "?limit=1&after=" + one.path("next").asText()).json();
    assertThat(counters(two)).containsExactly("session/support-triage/conv-2");
    assertThat(two.has("next")).isFalse();
    assertThat(counters(viewer.get(SESSIONS + "?unit=session/support-triage/conv-2").json()))
        .containsExactly("session/support-triage/conv-2");
    JsonNode none = viewer.get(SESSIONS + "?unit=session/other-agent/").json();
    assertThat(none.path("items").isEmpty()).isTrue();
  }

  @Test
  void badInputIsRefusedClearly_andAnUnknownBudgetIsNotFound() {
    ApiClient.Response zero = viewer.get(SESSIONS + "?limit=0");
    assertThat(zero.status()).isEqualTo(400);
    assertThat(zero.body()).contains("limit: expected 1 to 1000, got 0");
    assertThat(viewer.get(SESSIONS + "?limit=5000").status()).isEqualTo(400);
    ApiClient.Response word = viewer.get(SESSIONS + "?limit=lots");
    assertThat(word.status()).isEqualTo(400);
    assertThat(word.body()).contains("limit");
    ApiClient.Response longUnit = viewer.get(SESSIONS + "?unit=" + "u".repeat(401));
    assertThat(longUnit.status()).isEqualTo(400);
    assertThat(longUnit.body()).contains("unit: expected at most 400 characters");
    ApiClient.Response nul = viewer.get(SESSIONS + "?after=a%00b");
    assertThat(nul.status()).as(nul.body()).isEqualTo(400);
    assertThat(nul.body()).contains("after: expected no control characters");
    assertThat(viewer.get("/api/v1/budgets/a%01b/counters").status()).isEqualTo(400);
    assertThat(viewer.get(SESSIONS + "?unit=%F0%9F%98%80").json().path("items").isEmpty()).isTrue();
    ApiClient.Response missing = viewer.get("/api/v1/budgets/nope/counters");
    assertThat(missing.status()).isEqualTo(404);
    assertThat(missing.body()).contains("budget/nope does not exist");
    assertThat(new ApiClient(fd.url(), Optional.empty()).get(SESSIONS).status()).isEqualTo(401);
    // Nothing listed was changed by any of it.
    assertThat(counters(viewer.get(SESSIONS).json())).hasSize(2);
  }
}

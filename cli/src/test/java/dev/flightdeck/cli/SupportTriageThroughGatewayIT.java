package dev.flightdeck.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.parse.ResourceReader;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.samples.triage.SupportTriageAgent;
import dev.flightdeck.samples.triage.TriageConfig;
import dev.flightdeck.server.FlightdeckServer;
import dev.flightdeck.server.ServerOptions;
import dev.flightdeck.sim.Scenario;
import dev.flightdeck.sim.SimulatedLlm;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sample agent's versions calling their model through a real server's model gateway, with
 * the examples applied as they are and the simulated LLM as the provider: the session header the
 * agent forwards is what lets the gateway halt v3's loop.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SupportTriageThroughGatewayIT {

  static final Path EXAMPLES = Path.of("..", "examples");
  static final String DOWN = "From: raj@contoso.example. The dashboard has been down for 20 minutes, every page returns 502.";
  static final HttpClient http = HttpClient.newHttpClient();

  @TempDir static Path dir;
  FlightdeckServer fd;
  SimulatedLlm sim;
  SupportTriageAgent v2;
  SupportTriageAgent v3;

  @BeforeAll
  void start() throws Exception {
    sim = SimulatedLlm.start("127.0.0.1", 0, Scenario.read(EXAMPLES.resolve("sim/support-triage.yaml")));
    fd = FlightdeckServer.start(ServerOptions.embedded(dir));
    String yaml = Files.readString(EXAMPLES.resolve("support-triage.yaml")) + "\n---\n"
        + Files.readString(EXAMPLES.resolve("models/gateway.yaml")).replace("http://127.0.0.1:8089/v1", sim.baseUrl());
    fd.resources().apply(new ResourceReader().read(ResourceReader.Source.of("examples.yaml", yaml)), Principal.SYSTEM, false);
    fd.gateway().orElseThrow().reload();
    String base = fd.gatewayUrl().orElseThrow() + "/v1";
    v2 = agent("support-triage-v2", base);
    v3 = agent("support-triage-v3", base);
    fd.gateway().orElseThrow().models().housekeeping(); // the gateway knows the new keys now, not at its next tick
  }

  private SupportTriageAgent agent(String version, String base) {
    String key = fd.modelKeys().create("support-triage", version, "it", Principal.SYSTEM).secret();
    return SupportTriageAgent.start(TriageConfig.fromResources(EXAMPLES.resolve("support-triage.yaml"), version,
        URI.create(base), key), 0);
  }

  @AfterAll
  void stop() {
    for (AutoCloseable c : new AutoCloseable[] {v2, v3, fd, sim}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        // closing: nothing to do
      }
    }
  }

  private static HttpResponse<String> triage(SupportTriageAgent agent, String session, String ticket) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.port() + "/triage"))
        .timeout(Duration.ofSeconds(30)).header("X-Flightdeck-Session", session)
        .POST(HttpRequest.BodyPublishers.ofString(Json.write(Json.object().put("ticket", ticket)))).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void v3sLoopIsHaltedByTheModelGateway_andTheAgentAnswers429() throws Exception {
    HttpResponse<String> r = triage(v3, "conv-v3-loop", DOWN);
    JsonNode body = Json.read(r.body());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(429);
    assertThat(body.at("/error/code").asText()).as(r.body()).isEqualTo("session_halted");
    // The first call asks for the search; the next ten send the same result back; the eleventh repeat is refused.
    assertThat(body.path("trajectory").size()).isEqualTo(11);
    assertThat(body.at("/usage/model_calls").asLong()).isEqualTo(11);

    // The halt is the session's: another conversation of the same version is answered.
    HttpResponse<String> other = triage(v3, "conv-v3-refund",
        "From: ana@northwind.example. I was charged twice for my subscription this month, please refund one payment.");
    assertThat(other.statusCode()).as(other.body()).isEqualTo(200);
    assertThat(Json.read(other.body()).path("queue").asText()).isEqualTo("billing");
  }

  @Test
  void v2RoutesTheSameTicketThroughTheGateway() throws Exception {
    HttpResponse<String> r = triage(v2, "conv-v2-down", DOWN);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode body = Json.read(r.body());
    assertThat(body.path("queue").asText()).isEqualTo("incidents");
    assertThat(body.at("/usage/total_tokens").asLong()).isPositive();
  }
}

package dev.flightdeck.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.server.FlightdeckServer;
import dev.flightdeck.server.ServerOptions;
import dev.flightdeck.store.key.ModelKeyStore;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI against a real server over loopback: the README's tour, as a test. */
class CliIT {

  @TempDir Path dir;
  private FlightdeckServer server;
  private String token;

  record Run(int code, String out, String err) {}

  @BeforeEach
  void start() {
    server = FlightdeckServer.start(ServerOptions.embedded(dir.resolve("data")));
    token = server.initialAdminToken().orElseThrow().secret();
    Connection.env = Map.of("FLIGHTDECK_SERVER", server.url(), "FLIGHTDECK_TOKEN", token);
    Connection.home = dir.resolve("home");
  }

  @AfterEach
  void stop() {
    server.close();
    Connection.env = System.getenv();
  }

  private static Run cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
    return new Run(code, out.toString(), err.toString());
  }

  private static String examples() {
    return Path.of("..", "examples").toString();
  }

  @Test
  void appliesTheExamplesFolder_andGetsDescribesAndShowsHistory() {
    Run apply = cli("apply", "-f", examples());
    assertThat(apply.code()).as(apply.err()).isZero();
    assertThat(apply.out()).contains("agent/support-triage created", "agentversion/support-triage-v1 created",
        "evalsuite/support-triage-golden created");
    assertThat(cli("apply", "-f", examples()).out()).contains("agent/support-triage unchanged");

    Run get = cli("get", "agents");
    assertThat(get.out()).containsPattern("NAME\\s+ROUTES\\s+OWNER\\s+AGE")
        .contains("support-triage-v1:90,support-triage-v2:10");
    assertThat(cli("get", "av", "-l", "team=support", "-o", "name").out())
        .isEqualTo("agentversion/support-triage-v1\nagentversion/support-triage-v2\nagentversion/support-triage-v3\n");
    assertThat(cli("get", "agent/support-triage", "-o", "yaml").out()).contains("kind: Agent", "weight: 90");
    assertThat(cli("get", "agent", "support-triage", "-o", "json").out()).contains("\"kind\" : \"Agent\"");
    assertThat(cli("describe", "agent", "support-triage").out()).contains("Labels:            team=support", "History (latest 1 of 1)");
    assertThat(cli("history", "agent/support-triage").out()).containsPattern("\\d+\\s+CREATED\\s+token:admin");
  }

  @Test
  void appliesFromStdin_andReportsConflictsAndMissingThingsWithExitOne() {
    cli("apply", "-f", examples());
    ApplyCommand.stdin = new ByteArrayInputStream(readExample().replace("weight: 90", "weight: 50")
        .replace("weight: 10", "weight: 50").getBytes(StandardCharsets.UTF_8));
    try {
      assertThat(cli("apply", "-f", "-").out()).contains("agent/support-triage configured");
    } finally {
      ApplyCommand.stdin = System.in;
    }
    assertThat(cli("history", "agent", "support-triage").out()).contains("UPDATED");
    Run immutable = cli("apply", "-f", write("v.yaml", readExample().replace("gpt-4o-mini-2024-07-18", "gpt-4o-2025-01-01")).toString());
    assertThat(immutable.code()).isEqualTo(ExitCodes.FAILED);
    assertThat(immutable.err()).contains("agentversion/support-triage-v1 is immutable");
    assertThat(cli("get", "agent/nope").code()).isEqualTo(ExitCodes.FAILED);
    Run refused = cli("delete", "agent", "support-triage");
    assertThat(refused.code()).isEqualTo(ExitCodes.FAILED);
    assertThat(refused.err()).contains("still referred to by");
    assertThat(cli("apply", "-f", Path.of("..", "examples", "rollouts", "canary.yaml").toString()).out())
        .contains("rollout/support-triage-v2 created");
    assertThat(cli("delete", "rollout/support-triage-v2").out()).isEqualTo("rollout/support-triage-v2 deleted\n");
  }

  @Test
  void brokenFilesPrintEveryErrorWithPositionAndExitTwo() {
    Run r = cli("apply", "-f", Path.of("..", "docs", "examples", "broken-agent.yaml").toString());
    assertThat(r.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(r.err()).contains("broken-agent.yaml:10:15: spec.routes[0].weight: expected an integer 0..100, got \"ten\"")
        .contains("broken-agent.yaml:11:3: spec.ownr: unknown field; did you mean \"owner\"?");
    assertThat(cli("get", "agnets").code()).isEqualTo(ExitCodes.INVALID);
    assertThat(cli("get", "--bogus-flag", "agents").code()).isEqualTo(ExitCodes.INVALID);
  }

  @Test
  void authFailuresExitFour_andAnUnreachableServerExitsThree() {
    Connection.env = Map.of("FLIGHTDECK_SERVER", server.url());
    Run noToken = cli("get", "agents");
    assertThat(noToken.code()).isEqualTo(ExitCodes.AUTH);
    assertThat(noToken.err()).contains("missing Authorization header").contains("flightdeck login");
    assertThat(cli("get", "agents", "--token", "fd_wrong").code()).isEqualTo(ExitCodes.AUTH);
    Run down = cli("get", "agents", "--server", "http://127.0.0.1:1", "--token", token);
    assertThat(down.code()).isEqualTo(ExitCodes.UNREACHABLE);
    assertThat(down.err()).contains("cannot reach the Flightdeck server at http://127.0.0.1:1");
  }

  @Test
  void tokensAndLogin() throws Exception {
    Run created = cli("token", "create", "ci", "--role", "viewer");
    assertThat(created.code()).isZero();
    String viewer = created.out().lines().reduce((a, b) -> b).orElseThrow();
    assertThat(viewer).startsWith("fd_");
    Run login = cli("login", "--server", server.url(), "--token", viewer);
    assertThat(login.out()).contains("as token:ci (viewer)");
    Connection.env = Map.of();
    assertThat(cli("whoami").out()).isEqualTo("token:ci (viewer)\n");
    assertThat(cli("apply", "-f", examples()).code()).isEqualTo(ExitCodes.AUTH);
    assertThat(cli("token", "list", "--token", token).out()).contains("ci", "viewer");
  }

  @Test
  void modelKeysArePrintedOnce_listedWithoutTheirSecrets_andRevoked() {
    cli("apply", "-f", examples());
    Run created = cli("keys", "create", "agentversion/support-triage-v1", "--name", "laptop");
    assertThat(created.code()).as(created.err()).isZero();
    String secret = created.out().strip();
    assertThat(secret).matches("fdk_[A-Za-z0-9_-]{43}");
    assertThat(created.err()).containsPattern("model key mk_[a-z2-7]{12} \\(laptop\\) created for agentversion/support-triage-v1"
        + " of agent/support-triage").contains("it is not shown again");
    JsonNode second = Json.read(cli("keys", "create", "av/support-triage-v1", "-o", "json").out());
    assertThat(second.path("name").asText()).isEqualTo("default");
    assertThat(second.path("key").asText()).startsWith("fdk_");

    Run list = cli("keys", "list", "agentversion/support-triage-v1");
    assertThat(list.code()).as(list.err()).isZero();
    List<String> lines = list.out().lines().toList();
    assertThat(lines.get(0)).matches("ID\\s+NAME\\s+PREFIX\\s+CREATED\\s+REVOKED");
    assertThat(lines.get(1)).startsWith(second.path("id").asText()).contains("default").endsWith("-");
    assertThat(lines.get(2)).contains("laptop", "fdk_" + secret.substring(4, 12) + " ");
    assertThat(list.out()).doesNotContain(secret.substring(12)).doesNotContain(second.path("key").asText().substring(12));
    List<String> ids = cli("keys", "list", "support-triage-v1", "-o", "name").out().lines().toList();
    assertThat(ids).hasSize(2).first().isEqualTo(second.path("id").asText());

    Run revoked = cli("keys", "revoke", ids.get(1));
    assertThat(revoked.code()).as(revoked.err()).isZero();
    assertThat(revoked.out()).startsWith("model key " + ids.get(1) + " (laptop, agentversion/support-triage-v1) revoked at 20");
    assertThat(server.modelKeys().liveByHash()).doesNotContainKey(ModelKeyStore.hash(secret))
        .containsKey(ModelKeyStore.hash(second.path("key").asText()));
    assertThat(cli("keys", "list", "av/support-triage-v1").out().lines().toList().get(2)).doesNotEndWith("-");
    assertThat(cli("keys", "list", "av/support-triage-v2").out()).isEqualTo(
        "No keys for agentversion/support-triage-v2; create one with `flightdeck keys create`.\n");
  }

  @Test
  void budgetStatusShowsWhatASessionSpent_pagesAndRefusesBadArguments() throws Exception {
    cli("apply", "-f", examples());
    assertThat(cli("budget", "status", "budget/triage-per-session").err())
        .contains("budget/triage-per-session does not exist");
    String scenario = Files.readString(Path.of("..", "examples", "sim", "support-triage.yaml"))
        .replaceAll("(?m)^latency: .*$", "latency: {value: 1ms}");
    try (var sim = dev.flightdeck.sim.SimulatedLlm.start("127.0.0.1", 0,
        dev.flightdeck.sim.Scenario.parse("support-triage.yaml", scenario))) {
      String models = Files.readString(Path.of("..", "examples", "models", "gateway.yaml"))
          .replace("http://127.0.0.1:8089/v1", sim.baseUrl());
      assertThat(cli("apply", "-f", write("models.yaml", models).toString()).code()).isZero();
      assertThat(cli("budget", "status", "triage-per-session").out())
          .isEqualTo("No counters for budget/triage-per-session: no call has been charged to it yet.\n");
      String key = cli("keys", "create", "av/support-triage-v1").out().strip();
      server.gateway().orElseThrow().reload();
      server.gateway().orElseThrow().models().housekeeping();
      var http = java.net.http.HttpClient.newHttpClient();
      long[] tokens = new long[2];
      for (int i = 0; i < 2; i++) {
        var r = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.gatewayUrl().orElseThrow()
                + "/v1/chat/completions")).header("Authorization", "Bearer " + key)
            .header("X-Flightdeck-Session", "conv-" + i).header("Content-Type", "application/json")
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"gpt-4o-mini-2024-07-18\","
                + "\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"the site is down\"}]}")).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        tokens[i] = Json.read(r.body()).path("usage").path("total_tokens").asLong();
      }
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).untilAsserted(() ->
          assertThat(cli("budget", "status", "triage-per-session").out()).containsPattern(
              "session/support-triage/conv-1\\s+" + tokens[1] + "\\s+0\\s"));
      List<String> lines = cli("budget", "status", "budget/triage-per-session").out().lines().toList();
      assertThat(lines.get(0)).matches("COUNTER\\s+TOKENS USED\\s+RESERVED\\s+LEFT\\s+LIMIT");
      assertThat(lines.get(1).split("\\s+")).containsExactly("session/support-triage/conv-0", Long.toString(tokens[0]),
          "0", Long.toString(50_000 - tokens[0]), "50000");
      assertThat(lines).hasSize(3);
      Run page = cli("budget", "status", "triage-per-session", "--limit", "1");
      assertThat(page.out()).contains("conv-0").doesNotContain("conv-1")
          .endsWith("More: flightdeck budget status budget/triage-per-session --after session/support-triage/conv-0\n");
      assertThat(cli("budget", "status", "triage-per-session", "--after", "session/support-triage/conv-0").out())
          .contains("conv-1").doesNotContain("conv-0");
      JsonNode json = Json.read(cli("budget", "status", "triage-daily", "-o", "json").out());
      assertThat(json.path("items").get(0).path("limit").path("usd").asText()).isEqualTo("5");
      assertThat(cli("budget", "status", "triage-daily").out().lines().findFirst().orElseThrow())
          .matches("COUNTER\\s+USD USED\\s+RESERVED\\s+LEFT\\s+LIMIT");
    }
    Run badLimit = cli("budget", "status", "triage-per-session", "--limit", "0");
    assertThat(badLimit.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(badLimit.err()).contains("limit: expected 1 to 1000, got 0");
    Run wrongKind = cli("budget", "status", "agent/support-triage");
    assertThat(wrongKind.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(wrongKind.err()).contains("expected NAME or budget/NAME");
    Run missing = cli("budget", "status", "nope");
    assertThat(missing.code()).isEqualTo(ExitCodes.FAILED);
    assertThat(missing.err()).contains("budget/nope does not exist");
  }

  @Test
  void modelKeyCommandsReportWrongKindsMissingThingsAndLowRolesWithTheirExitCodes() {
    cli("apply", "-f", examples());
    Run wrongKind = cli("keys", "create", "agent/support-triage");
    assertThat(wrongKind.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(wrongKind.err()).contains("error: expected NAME or agentversion/NAME, got agent/support-triage");
    Run missing = cli("keys", "list", "agentversion/nope");
    assertThat(missing.code()).isEqualTo(ExitCodes.FAILED);
    assertThat(missing.err()).contains("agentversion/nope does not exist");
    assertThat(cli("keys", "revoke", "mk_aaaaaaaaaaaa").err()).contains("no model key with id mk_aaaaaaaaaaaa");
    Run tooLong = cli("keys", "create", "av/support-triage-v1", "--name", "n".repeat(129));
    assertThat(tooLong.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(tooLong.err()).contains("name: expected a string of 1 to 128 characters, got 129 characters");
    String viewer = cli("token", "create", "ci", "--role", "viewer").out().lines().reduce((a, b) -> b).orElseThrow();
    assertThat(cli("keys", "create", "av/support-triage-v1", "--token", viewer).code()).isEqualTo(ExitCodes.AUTH);
    assertThat(cli("keys", "list", "av/support-triage-v1", "--token", viewer).code()).isZero();
  }

  @Test
  void auditVerifiesOnTheServer_exportsAndVerifiesOfflineWithAPinnedKey() throws Exception {
    cli("apply", "-f", examples());
    assertThat(cli("audit", "verify").out()).startsWith("ok: ");
    Path export = dir.resolve("audit.jsonl");
    assertThat(cli("audit", "export", "-o", export.toString()).code()).isZero();
    Path key = write("key.txt", cli("audit", "key").out());
    Run offline = cli("audit", "verify", "--file", export.toString(), "--public-key", key.toString());
    assertThat(offline.code()).as(offline.err()).isZero();
    assertThat(offline.out()).startsWith("ok: 6 entries");

    Files.writeString(export, Files.readString(export).replace("\"resource\":\"agent/support-triage\"", "\"resource\":\"agent/other\""));
    Run tampered = cli("audit", "verify", "--file", export.toString(), "--public-key", key.toString());
    assertThat(tampered.code()).isEqualTo(ExitCodes.FAILED);
    assertThat(tampered.out()).contains("TAMPERED at entry");
  }

  @Test
  void helpListsExitCodes_andCompletionPrintsAScript() {
    assertThat(cli("--help").out()).contains("Exit codes:", "3  the server could not be reached", "apply", "history");
    assertThat(cli("completion", "bash").out()).contains("complete -F");
  }

  private Path write(String name, String text) {
    try {
      Path p = dir.resolve(name);
      Files.writeString(p, text);
      return p;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String readExample() {
    try {
      return Files.readString(Path.of("..", "examples", "support-triage.yaml"));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}

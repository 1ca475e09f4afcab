package dev.flightdeck.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import dev.flightdeck.api.resource.Json;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code flightdeck rollout} over loopback against an HTTP server that answers as the rollout API
 * contract says: the watch loop's exit codes, the verbs' paths and bodies, problems.
 * The real controller is not needed; an IT against it belongs with the server's rollout API.
 */
class RolloutCommandIT {

  private static final String BASE = "/api/v1/rollouts/support-triage-v2";

  @TempDir Path dir;
  private HttpServer server;
  private Function<Request, Reply> api = r -> new Reply(500, "{}");
  private final List<Request> requests = new CopyOnWriteArrayList<>();

  record Request(String method, String uri, String contentType, String authorization, String body) {}

  record Reply(int status, String body) {
    static Reply json(JsonNode body) {
      return new Reply(200, Json.write(body));
    }

    static Reply problem(int status, String detail) {
      return new Reply(status, Json.write(Json.object().put("title", "problem").put("status", status).put("detail", detail)));
    }
  }

  record Run(int code, String out, String err) {}

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext("/", ex -> {
      Request req = new Request(ex.getRequestMethod(), ex.getRequestURI().toString(),
          ex.getRequestHeaders().getFirst("Content-Type"), ex.getRequestHeaders().getFirst("Authorization"),
          new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      requests.add(req);
      Reply reply = api.apply(req);
      byte[] body = reply.body().getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", reply.status() >= 400 ? "application/problem+json" : "application/json");
      ex.sendResponseHeaders(reply.status(), body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    server.start();
    Connection.env = Map.of("FLIGHTDECK_SERVER", "http://127.0.0.1:" + server.getAddress().getPort(), "FLIGHTDECK_TOKEN", "fd_test");
    Connection.home = dir;
  }

  @AfterEach
  void stop() {
    server.stop(0);
    Connection.env = System.getenv();
  }

  private static Run cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
    return new Run(code, out.toString(), err.toString());
  }

  /** Answers status requests with the bodies in turn, then keeps answering the last. */
  private void statuses(JsonNode... bodies) {
    api = r -> {
      long asked = requests.stream().filter(x -> x.uri().equals(BASE + "/status")).count();
      return Reply.json(bodies[(int) Math.min(asked, bodies.length) - 1]);
    };
  }

  private static JsonNode with(String fixture, String field, String value) {
    return ((ObjectNode) RolloutViewTest.fixture(fixture)).put(field, value);
  }

  @Test
  void watch_followsUntilRolledBack_printsEachChangeOnce_andExitsOne() {
    JsonNode first = RolloutViewTest.fixture("progressing");
    JsonNode later = with("progressing", "message", "analysis: waiting for evidence (errorRate: 97 of 100 canary samples)");
    statuses(first, first, later, RolloutViewTest.fixture("rolled-back"));

    Run r = cli("rollout", "status", "support-triage-v2", "--watch", "--interval", "100ms");

    assertThat(r.code()).as(r.err()).isEqualTo(ExitCodes.FAILED);
    assertThat(requests).hasSize(4).allSatisfy(q -> {
      assertThat(q.method()).isEqualTo("GET");
      assertThat(q.uri()).isEqualTo(BASE + "/status");
      assertThat(q.authorization()).isEqualTo("Bearer fd_test");
    });
    assertThat(r.out().split("rollout/support-triage-v2   Progressing", -1)).hasSize(3);
    assertThat(r.out()).contains("errorRate: 83 of 100", "errorRate: 97 of 100")
        .endsWith("Message:   analysis: errorRate of the canary is significantly higher than stable\n"
            + "Updated:   2026-11-23T10:05:00Z, revision 12\n");
    assertThat(r.out().indexOf("RolledBack")).isGreaterThan(r.out().indexOf("97 of 100"));
  }

  @Test
  void watch_exitsZero_whenPromoted() {
    statuses(RolloutViewTest.fixture("paused"), with("paused", "phase", "Promoted"));
    Run r = cli("rollout", "status", "rollout/support-triage-v2", "-w", "--interval", "100ms");
    assertThat(r.code()).as(r.err()).isEqualTo(ExitCodes.OK);
    assertThat(r.out()).contains("rollout/support-triage-v2   Paused", "rollout/support-triage-v2   Promoted");
    assertThat(requests).hasSize(2);
  }

  @Test
  void watchAsJson_printsOneLinePerChange_andExitsOneWhenAborted() {
    JsonNode aborted = with("paused", "phase", "Aborted");
    statuses(RolloutViewTest.fixture("paused"), RolloutViewTest.fixture("paused"), aborted);
    Run r = cli("rollout", "status", "support-triage-v2", "--watch", "--interval", "100ms", "-o", "json");
    assertThat(r.code()).isEqualTo(ExitCodes.FAILED);
    List<String> lines = r.out().lines().toList();
    assertThat(lines).hasSize(2);
    assertThat(Json.read(lines.get(0))).isEqualTo(RolloutViewTest.fixture("paused"));
    assertThat(Json.read(lines.get(1))).isEqualTo(aborted);
  }

  @Test
  void statusWithoutWatch_exitsZeroWhateverThePhase_andJsonIsTheApiStatus() {
    statuses(RolloutViewTest.fixture("rolled-back"));
    Run text = cli("rollout", "status", "support-triage-v2");
    assertThat(text.code()).isZero();
    assertThat(text.out()).startsWith("rollout/support-triage-v2   RolledBack   attempt 2\n").contains("Analysis:  rollback");
    Run json = cli("rollout", "status", "support-triage-v2", "-o", "json");
    assertThat(json.code()).isZero();
    assertThat(Json.read(json.out())).isEqualTo(RolloutViewTest.fixture("rolled-back"));
  }

  @Test
  void describe_showsTheStatusThenTheDecisionLog() {
    api = r -> r.uri().startsWith(BASE + "/decisions") ? Reply.json(RolloutViewTest.fixture("decisions"))
        : Reply.json(RolloutViewTest.fixture("rolled-back"));
    Run r = cli("rollout", "describe", "support-triage-v2", "--limit", "20");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(requests).extracting(Request::uri).containsExactly(BASE + "/status", BASE + "/decisions?limit=20");
    assertThat(r.out()).startsWith("rollout/support-triage-v2   RolledBack").contains("\n\nDecisions (4):\n")
        .containsPattern("token:alice\\s+retried\\s+-\\s+Progressing\\s+fixed the prompt");
  }

  @Test
  void verbs_postToTheirPath_withTheirBody_andPrintTheNewPhaseAndStep() {
    api = r -> Reply.json(RolloutViewTest.fixture("progressing"));
    record Case(List<String> args, String verb, String body, String line) {}
    List<Case> cases = List.of(
        new Case(List.of("promote"), "promote", "", "promoted"),
        new Case(List.of("promote", "--full"), "promote", "{\"full\":true}", "promoted fully"),
        new Case(List.of("abort", "--reason", "tone is off"), "abort", "{\"reason\":\"tone is off\"}", "aborted"),
        new Case(List.of("abort"), "abort", "", "aborted"),
        new Case(List.of("retry"), "retry", "", "retried"),
        new Case(List.of("pause", "--reason", "wait for Ana"), "pause", "{\"reason\":\"wait for Ana\"}", "paused"),
        new Case(List.of("resume"), "resume", "", "resumed"),
        new Case(List.of("undo"), "undo", "", "undone"));
    for (Case c : cases) {
      requests.clear();
      String[] args = new String[c.args().size() + 2];
      args[0] = "rollout";
      args[1] = c.args().get(0);
      args[2] = "support-triage-v2";
      for (int i = 1; i < c.args().size(); i++) {
        args[i + 2] = c.args().get(i);
      }
      Run r = cli(args);
      assertThat(r.code()).as(c + r.err()).isZero();
      assertThat(r.out()).isEqualTo("rollout/support-triage-v2 " + c.line() + " (phase Progressing, step 3/6)\n");
      assertThat(requests).singleElement().satisfies(q -> {
        assertThat(q.method()).isEqualTo("POST");
        assertThat(q.uri()).isEqualTo(BASE + "/" + c.verb());
        assertThat(q.authorization()).isEqualTo("Bearer fd_test");
        assertThat(q.body()).as(c.toString()).isEqualTo(c.body());
        assertThat(q.contentType()).isEqualTo(c.body().isEmpty() ? null : "application/json");
      });
    }
  }

  @Test
  void aVerbThatDoesNotApply_printsTheConflictDetail_andExitsOne() {
    api = r -> Reply.problem(409, "cannot resume: the rollout is not paused (phase Progressing)");
    Run r = cli("rollout", "resume", "support-triage-v2");
    assertThat(r.code()).isEqualTo(ExitCodes.FAILED);
    assertThat(r.out()).isEmpty();
    assertThat(r.err()).isEqualTo("error: cannot resume: the rollout is not paused (phase Progressing)\n");
  }

  @Test
  void unknownRolloutExitsOne_forbiddenExitsFour_evenWhileWatching() {
    api = r -> Reply.problem(404, "rollout nope not found");
    Run missing = cli("rollout", "status", "nope", "--watch", "--interval", "100ms");
    assertThat(missing.code()).isEqualTo(ExitCodes.FAILED);
    assertThat(missing.err()).isEqualTo("error: rollout nope not found\n");
    api = r -> Reply.problem(403, "role viewer may not abort; operator needed");
    Run forbidden = cli("rollout", "abort", "support-triage-v2");
    assertThat(forbidden.code()).isEqualTo(ExitCodes.AUTH);
    assertThat(forbidden.err()).contains("operator needed");
  }

  @Test
  void badUsage_exitsTwo_beforeAnyRequest() {
    assertThat(cli("rollout", "status", "support-triage-v2", "--watch", "--interval", "10ms").code()).isEqualTo(ExitCodes.INVALID);
    assertThat(cli("rollout", "status", "support-triage-v2", "--interval", "soon").code()).isEqualTo(ExitCodes.INVALID);
    assertThat(cli("rollout", "status", "support-triage-v2", "-o", "table").code()).isEqualTo(ExitCodes.INVALID);
    assertThat(cli("rollout", "status", "support-triage-v2", "-w", "-o", "yaml").code()).isEqualTo(ExitCodes.INVALID);
    assertThat(cli("rollout", "promote", "agent/support-triage").code()).isEqualTo(ExitCodes.INVALID);
    assertThat(cli("rollout", "describe", "support-triage-v2", "--limit", "0").code()).isEqualTo(ExitCodes.INVALID);
    assertThat(cli("rollout").code()).isEqualTo(ExitCodes.INVALID);
    assertThat(requests).isEmpty();
  }

  @Test
  void helpAndCompletionKnowTheRolloutCommands() {
    assertThat(cli("--help").out()).contains("rollout");
    assertThat(cli("rollout", "--help").out()).contains("status", "describe", "promote", "abort", "retry", "pause", "resume", "undo");
    assertThat(cli("completion", "bash").out()).contains("rollout", "promote", "--interval", "--full", "--reason");
  }
}

package dev.flightdeck.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.server.FlightdeckServer;
import dev.flightdeck.server.ServerOptions;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code flightdeck eval run} end to end: real agents over loopback, exit codes, report files, baselines. */
class EvalCommandIT {

  @TempDir Path dir;
  private HttpServer good;
  private HttpServer regressed;
  private final AtomicInteger calls = new AtomicInteger();

  record Run(int code, String out, String err) {}

  static Run cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
    return new Run(code, out.toString(), err.toString());
  }

  /** An agent that routes by keyword; {@code accountRight} of 10 runs route login tickets right. */
  private HttpServer agent(int accountRight) throws Exception {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 128);
    s.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    s.createContext("/", ex -> {
      calls.incrementAndGet();
      String ticket = Json.read(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8)).path("ticket").asText();
      String eval = ex.getRequestHeaders().getFirst("X-Flightdeck-Eval");
      int run = Integer.parseInt(eval.substring(eval.lastIndexOf('/') + 1));
      String queue = ticket.contains("refund") ? "billing" : ticket.contains("log in") ? (run % 10 < accountRight ? "account" : "general") : "general";
      byte[] body = ("{\"answer\":\"Routed to " + queue + "\",\"trajectory\":[{\"name\":\"route\",\"arguments\":{\"queue\":\""
          + queue + "\"}}]}").getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    s.start();
    return s;
  }

  static String url(HttpServer s) {
    return "http://127.0.0.1:" + s.getAddress().getPort();
  }

  private Path suite() throws Exception {
    StringBuilder cases = new StringBuilder();
    for (int i = 0; i < 12; i++) {
      cases.append("    - {name: refund-").append(i).append(", vars: {ticket: \"refund please ").append(i).append("\", queue: billing}}\n");
      cases.append("    - {name: login-").append(i).append(", vars: {ticket: \"cannot log in ").append(i).append("\", queue: account}}\n");
    }
    Path p = dir.resolve("suite.yaml");
    Files.writeString(p, """
        apiVersion: flightdeck.dev/v1alpha1
        kind: EvalSuite
        metadata: {name: triage}
        spec:
          runs: 10
          concurrency: 16
          request: {path: /triage, body: {ticket: "${ticket}"}}
          assert:
            - {type: contains, value: "${queue}"}
            - {type: tool-called, tool: route, max: 1}
          cases:
        """ + cases);
    return p;
  }

  @BeforeEach
  void start() throws Exception {
    good = agent(10);
    regressed = agent(4);
  }

  @AfterEach
  void stop() {
    good.stop(0);
    regressed.stop(0);
    Connection.env = System.getenv();
  }

  @Test
  void passingSuite_exitsZero_andWritesEveryReport() throws Exception {
    Path s = suite();
    Run r = cli("eval", "run", "-f", s.toString(), "--target", url(good), "--no-progress",
        "-o", "json:" + dir.resolve("out/report.json"), "-o", "junit:" + dir.resolve("out/junit.xml"),
        "-o", "html:" + dir.resolve("out/report.html"), "-o", "md:" + dir.resolve("out/summary.md"));
    assertThat(r.code()).as(r.out() + r.err()).isZero();
    assertThat(r.out()).contains("pass@1 1.000").contains("GATE PASSED");
    assertThat(calls.get()).isEqualTo(240);
    assertThat(Json.read(Files.readString(dir.resolve("out/report.json"))).path("summary").path("runs").asInt()).isEqualTo(240);
    assertThat(Files.readString(dir.resolve("out/junit.xml"))).contains("<testsuite name=\"triage\" tests=\"25\" failures=\"0\"");
    assertThat(Files.readString(dir.resolve("out/report.html"))).startsWith("<!doctype html>");
    assertThat(Files.readString(dir.resolve("out/summary.md"))).startsWith("### ✅ Eval gate passed");
  }

  @Test
  void regressionAgainstBaseline_exitsOne_withTheEvidence() throws Exception {
    Path s = suite();
    Path baseline = dir.resolve("v1.json");
    assertThat(cli("eval", "run", "-f", s.toString(), "-t", url(good), "--no-progress", "-o", "json:" + baseline).code()).isZero();
    // Same agent again: not worse than itself.
    assertThat(cli("eval", "run", "-f", s.toString(), "-t", url(good), "--no-progress", "--baseline", baseline.toString()).code())
        .isZero();
    // Login cases drop from 100% to 40%: a real regression.
    Run r = cli("eval", "run", "-f", s.toString(), "-t", url(regressed), "--no-progress", "--baseline", baseline.toString(),
        "-o", "md:" + dir.resolve("pr.md"));
    assertThat(r.code()).as(r.out() + r.err()).isEqualTo(1);
    assertThat(r.out()).contains("failed baseline: mean difference -0.300 over 24 paired cases").contains("GATE FAILED");
    assertThat(Files.readString(dir.resolve("pr.md"))).contains("❌ Eval gate failed").contains("| login-0 | 40.0% | 4/10 | **fail** | -0.600 |");
  }

  @Test
  void jsonToStdout_keepsStdoutMachineReadable() throws Exception {
    Run r = cli("eval", "run", "-f", suite().toString(), "-t", url(good), "--runs", "2", "--no-progress", "-o", "json");
    assertThat(r.code()).isZero();
    assertThat(Json.read(r.out()).path("format").asText()).isEqualTo("flightdeck.dev/eval-report/v1");
    assertThat(r.err()).contains("GATE PASSED");
  }

  @Test
  void brokenSuite_exitsTwo_withPositionedErrors_andCallsNothing() throws Exception {
    Path p = dir.resolve("broken.yaml");
    Files.writeString(p, """
        apiVersion: flightdeck.dev/v1alpha1
        kind: EvalSuite
        metadata: {name: broken}
        spec:
          runs: 0
          cases:
            - name: a
              assert: [{type: regex, value: "("}]
        """);
    Run r = cli("eval", "run", "-f", p.toString(), "-t", url(good));
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains(p + ":5:").contains("spec.runs").contains("nothing was run");
    assertThat(calls.get()).isZero();
    Files.writeString(dir.resolve("bad.json"), "{\"format\":\"something else\"}");
    Run b = cli("eval", "run", "-f", suite().toString(), "-t", url(good), "--baseline", dir.resolve("bad.json").toString());
    assertThat(b.code()).isEqualTo(2);
    assertThat(b.err()).contains("bad.json: format: expected \"flightdeck.dev/eval-report/v1\"");
    assertThat(cli("eval", "validate", "-f", suite().toString()).out()).contains("is valid: 24 cases, 48 assertions");
  }

  @Test
  void unreachableTarget_exitsThree() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Run r = cli("eval", "run", "-f", suite().toString(), "-t", "http://127.0.0.1:" + port, "--runs", "1", "--no-progress");
    assertThat(r.code()).isEqualTo(3);
    assertThat(r.err()).contains("could not be reached").contains("connection refused");
  }

  @Test
  void agentVersionTarget_isResolvedThroughTheServer() throws Exception {
    try (FlightdeckServer server = FlightdeckServer.start(ServerOptions.embedded(dir.resolve("data")))) {
      String token = server.initialAdminToken().orElseThrow().secret();
      Connection.env = Map.of("FLIGHTDECK_SERVER", server.url(), "FLIGHTDECK_TOKEN", token);
      Path res = dir.resolve("agent.yaml");
      Files.writeString(res, """
          apiVersion: flightdeck.dev/v1alpha1
          kind: Agent
          metadata: {name: triage}
          spec: {routes: [{version: triage-v1, weight: 100}]}
          ---
          apiVersion: flightdeck.dev/v1alpha1
          kind: AgentVersion
          metadata: {name: triage-v1}
          spec:
            agent: triage
            endpoints: [{url: "%s"}]
            models: [{id: gpt-4o-mini-2024-07-18}]
          """.formatted(url(good)));
      Run applied = cli("apply", "-f", res.toString());
      assertThat(applied.code()).as(applied.err()).isZero();
      Run r = cli("eval", "run", "-f", suite().toString(), "-t", "agentversion/triage-v1", "--runs", "1", "--no-progress");
      assertThat(r.code()).as(r.err()).isZero();
      assertThat(r.out()).contains("against agentversion/triage-v1");
    }
  }
}

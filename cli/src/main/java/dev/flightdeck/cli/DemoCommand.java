package dev.flightdeck.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.parse.ResourceReader;
import dev.flightdeck.api.resource.Json;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code flightdeck demo}: the whole release loop on this machine. Starts the server, the
 * simulated LLM and one sample agent process per AgentVersion of {@code examples/}; applies the
 * examples (ports rewritten when the usual ones are taken); sends tickets through the gateway;
 * rolls v2 out by canary behind its eval gate (passes, promoted); rolls v3 out (its eval gate
 * fails), forces it out without the gate and lets the analysis roll it back; and prints a
 * timeline of it, ending with what the model gateway saw per version. Everything it starts is a
 * child process that is stopped when the demo ends, by {@code --exit} or by Ctrl-C.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {"Runs the whole release loop on this machine in about a minute: the server, a simulated LLM and",
        "three versions of a sample agent as local processes; traffic through the gateway; eval gates; a canary",
        "promoted; a regressed version rolled back automatically with its evidence. Then leaves it all running to",
        "explore with the CLI (Ctrl-C stops everything), or stops with --exit."},
    footer = {"", "Examples:", "  flightdeck demo", "  flightdeck demo --exit          # exit 0 when the story went as expected",
        "", "State and logs go to --dir (wiped at each start); your own server, data and config are not touched."})
final class DemoCommand implements Callable<Integer> {

  /** The marker that says a folder is the demo's, so that wiping it at start cannot delete anything else. */
  static final String MARKER = ".flightdeck-demo";
  private static final String AGENT = "support-triage";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  private static final Duration ROLLOUT_TIMEOUT = Duration.ofSeconds(90);
  private static final Pattern LOCAL_PORT = Pattern.compile("127\\.0\\.0\\.1:(\\d+)");

  @Spec CommandSpec spec;

  @Option(names = "--exit", description = "Stop everything when the story is over; exit 0 if it went as expected, 1 otherwise.")
  boolean exit;

  @Option(names = "--dir", paramLabel = "DIR", defaultValue = ".flightdeck/demo",
      description = "The demo's state, logs and CLI config (default: ${DEFAULT-VALUE}); wiped at each start.")
  Path dir;

  @Option(names = "--examples", paramLabel = "DIR",
      description = "The example resources (default: ./examples, else the examples of the checkout the CLI was built in).")
  Path examples;

  @Option(names = "--rate", paramLabel = "N", defaultValue = "12",
      description = "Tickets a second sent through the gateway during the story (default: ${DEFAULT-VALUE}).")
  double rate;

  private DemoTimeline tl;
  private ApiClient api;
  private final Map<String, Long> seenDecision = new LinkedHashMap<>();
  private final List<String> failures = new ArrayList<>();
  private final Map<String, Long> evalRuns = new TreeMap<>();
  private Duration stoppedIn = Duration.ZERO;

  @Override
  public Integer call() {
    long start = System.nanoTime();
    PrintWriter out = spec.commandLine().getOut();
    tl = new DemoTimeline(out, Terminal.unicode(), start);
    if (!(rate > 0 && rate <= 200)) {
      throw new CliException(ExitCodes.INVALID, "error: --rate: expected a number of tickets a second in (0, 200], got " + rate);
    }
    Path ex = examplesDir();
    Path home = prepare(dir.toAbsolutePath().normalize());
    DemoProcesses children = new DemoProcesses(home.resolve("logs"), DemoProcesses.launcher());
    DemoTraffic[] traffic = new DemoTraffic[1];
    Thread hook = new Thread(() -> {
      if (traffic[0] != null) {
        traffic[0].close();
      }
      int n = children.children().size();
      if (n > 0) {
        tl.plain("");
        tl.plain("Stopping the demo's " + n + " processes ...");
        children.close();
        tl.plain("Stopped.");
      }
    }, "flightdeck-demo-stop");
    Runtime.getRuntime().addShutdownHook(hook);
    boolean stopNow = exit;
    try {
      tl.plain("Flightdeck demo: an agent's release loop on this machine. State and logs in " + display(home) + "/.");
      tl.plain("");
      Setup s = setUp(ex, home, children);
      traffic[0] = DemoTraffic.start(s.gateway(), AGENT, rate);
      tl.event(String.format(Locale.ROOT, "traffic: %s tickets a second through the gateway to %s/agents/%s/triage, "
          + "each a new conversation (X-Flightdeck-Session)", number(rate), s.gateway(), AGENT));
      story(s, home, traffic[0]);
      if (!failures.isEmpty()) {
        stopNow = true;
      } else if (!exit) {
        traffic[0].rate(Math.min(rate, 2));
        explore(s, home, children);
      }
    } catch (RuntimeException e) {
      stopNow = true;
      failures.add(e instanceof CliException c ? String.join("\n", c.lines()).replaceFirst("^error: ", "") : e.toString());
    } finally {
      if (stopNow) {
        long stopping = System.nanoTime();
        if (traffic[0] != null) {
          traffic[0].close();
        }
        children.close();
        removeHook(hook);
        stoppedIn = Duration.ofNanos(System.nanoTime() - stopping);
      }
    }
    if (!failures.isEmpty()) {
      tl.plain("");
      tl.plain("The demo did not go as expected:");
      failures.forEach(f -> tl.plain("  - " + f.replace("\n", "\n    ")));
      tl.plain("Logs: " + display(home.resolve("logs")) + "/");
      return ExitCodes.FAILED;
    }
    if (!stopNow) {
      waitForever();
    }
    tl.plain(String.format(Locale.ROOT, "Stopped every process the demo started (in %.1fs).", stoppedIn.toMillis() / 1000.0));
    return ExitCodes.OK;
  }

  // ---------------------------------------------------------------------------------------------
  // Set-up: ports, resources, processes, keys

  /** What set-up leaves for the story: where things are, and the versions it started. */
  record Setup(String server, String gateway, String simBaseUrl, Path config, Map<String, Integer> agentPorts) {}

  private Setup setUp(Path ex, Path home, DemoProcesses children) {
    Path agentFile = ex.resolve("support-triage.yaml");
    Path modelsFile = ex.resolve("models").resolve("gateway.yaml");
    Path scenario = ex.resolve("sim").resolve("support-triage.yaml");
    for (Path p : List.of(agentFile, modelsFile, scenario)) {
      if (!Files.isRegularFile(p)) {
        throw new CliException(ExitCodes.INVALID, "error: " + p + " is missing; run the demo from the repository root or "
            + "give --examples DIR");
      }
    }
    // Preferred ports: the API's and the gateway's defaults, the ones the examples name.
    Map<String, Integer> agentPreferred = new LinkedHashMap<>();
    for (JsonNode v : documents(agentFile, "AgentVersion")) {
      agentPreferred.put(v.path("metadata").path("name").asText(), localPort(v.path("spec").path("endpoints").path(0)
          .path("url").asText()).orElse(0));
    }
    int simPreferred = documents(modelsFile, "ModelProvider").stream()
        .map(p -> localPort(p.path("spec").path("baseUrl").asText())).flatMap(Optional::stream).findFirst().orElse(8089);
    DemoPorts ports = new DemoPorts();
    int apiPort = ports.choose("API", 7070);
    int gatewayPort = ports.choose("gateway", 7080);
    int simPort = ports.choose("simulated LLM", simPreferred);
    Map<String, Integer> agentPorts = new LinkedHashMap<>();
    agentPreferred.forEach((v, p) -> agentPorts.put(v, ports.choose(v, p)));
    List<String> moved = new ArrayList<>();
    Map<Integer, Integer> rewrite = new TreeMap<>();
    for (DemoPorts.Port p : ports.all()) {
      if (p.moved()) {
        moved.add(p.service() + " on " + p.port() + " (" + p.preferred() + " is in use)");
        rewrite.put(p.preferred(), p.port());
      }
    }
    tl.event("ports: API " + apiPort + ", gateway " + gatewayPort + ", simulated LLM " + simPort + ", agents "
        + String.join(", ", agentPorts.values().stream().map(String::valueOf).toList()),
        moved.isEmpty() ? List.of() : List.of("moved: " + String.join("; ", moved),
            "the resources applied are copies of the examples with these ports, in " + display(home.resolve("resources")) + "/"));

    // The server and the simulated LLM start together; the agents need keys, so the server first.
    Path config = home.resolve("config.yaml");
    String server = "http://127.0.0.1:" + apiPort;
    String gateway = "http://127.0.0.1:" + gatewayPort;
    String simBase = "http://127.0.0.1:" + simPort + "/v1";
    tl.event("starting the server (SQLite in " + display(home.resolve("server")) + "/) and the simulated LLM ("
        + display(scenario) + "); logs in " + display(home.resolve("logs")) + "/");
    DemoProcesses.Child serverChild = children.start("server", List.of("server", "--data-dir",
        home.resolve("server").toString(), "--port", Integer.toString(apiPort), "--gateway-port", Integer.toString(gatewayPort)),
        // The first start saves its admin token to FLIGHTDECK_CONFIG: the demo's file, never ~/.flightdeck.
        Map.of("FLIGHTDECK_CONFIG", config.toString()));
    Path scenarioCopy = home.resolve("resources").resolve(ex.relativize(scenario).toString());
    write(scenarioCopy, read(scenario));
    DemoProcesses.Child simChild = children.start("sim", List.of("sim", "llm", "--port", Integer.toString(simPort),
        "--scenario", scenarioCopy.toString()), Map.of());
    children.awaitReady(serverChild, "ready", START_TIMEOUT, () -> ok(server + "/readyz") && token(config).isPresent());
    tl.event("server ready: API " + server + ", gateway " + gateway + "; admin token saved in " + display(config));
    children.awaitReady(simChild, "ready", START_TIMEOUT, () -> ok(simBase + "/models"));
    tl.event("simulated LLM ready at " + simBase);
    api = new ApiClient(server, token(config));

    // The examples, with the chosen ports, applied as `flightdeck apply -f examples/ -f examples/models/` would.
    List<Path> files = new ArrayList<>(list(ex));
    files.addAll(list(ex.resolve("models")));
    ObjectNode body = Json.object();
    ArrayNode arr = body.putArray("files");
    for (Path f : files) {
      String rel = ex.relativize(f).toString();
      String content = rewrite(read(f), rewrite);
      write(home.resolve("resources").resolve(rel), content);
      arr.addObject().put("name", display(f)).put("content", content);
    }
    JsonNode applied = api.post("/api/v1/apply", "application/vnd.flightdeck.files+json",
        Json.write(body).getBytes(StandardCharsets.UTF_8));
    List<String> refs = new ArrayList<>();
    applied.path("results").forEach(r -> refs.add(r.path("ref").asText()));
    tl.event("applied " + display(ex) + "/ and " + display(ex.resolve("models")) + "/: " + String.join(", ", refs));

    // One virtual model key per version; each agent calls the model through the gateway with it.
    Map<String, String> keys = new LinkedHashMap<>();
    List<String> keyIds = new ArrayList<>();
    for (String v : agentPorts.keySet()) {
      JsonNode k = api.post("/api/v1/agentversions/" + v + "/keys", "application/json",
          Json.write(Json.object().put("name", "demo")).getBytes(StandardCharsets.UTF_8));
      keys.put(v, k.path("key").asText());
      keyIds.add(v + " " + k.path("id").asText());
    }
    tl.event("issued a virtual model key per version (" + String.join(", ", keyIds) + ")");
    Path agentResources = home.resolve("resources").resolve(ex.relativize(agentFile).toString());
    Map<String, DemoProcesses.Child> agents = new LinkedHashMap<>();
    agentPorts.forEach((v, port) -> agents.put(v, children.start(v, List.of("agent", AGENT, "--resources",
        agentResources.toString(), "--version", v, "--port", Integer.toString(port), "--model-base-url", gateway + "/v1"),
        Map.of("FLIGHTDECK_MODEL_KEY", keys.get(v)))));
    tl.event("starting the sample agent once per version: " + String.join(", ", agentPorts.keySet())
        + " (model calls to " + gateway + "/v1)");
    agents.forEach((v, c) -> children.awaitReady(c, "ready", START_TIMEOUT,
        () -> ok("http://127.0.0.1:" + agentPorts.get(v) + "/healthz")));
    List<String> where = new ArrayList<>();
    agentPorts.forEach((v, p) -> where.add(v + " :" + p));
    tl.event("agents ready: " + String.join(", ", where));
    return new Setup(server, gateway, simBase, config, agentPorts);
  }

  // ---------------------------------------------------------------------------------------------
  // The story

  private void story(Setup s, Path home, DemoTraffic traffic) {
    // A few answers first: the agents' first requests load their HTTP and JSON code.
    long until = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (answered(traffic) < 2 * rate && System.nanoTime() < until) {
      DemoProcesses.sleep(Duration.ofMillis(200));
    }
    tl.event("traffic so far: " + tallies(traffic), List.of("routes from " + display(examplesDir().resolve("support-triage.yaml"))
        + ": " + routes()));

    // v2: eval gate, canary, promoted.
    String v2 = "support-triage-v2";
    String v3 = "support-triage-v3";
    Path ex = examplesDir();
    Path v2File = ex.resolve("rollouts").resolve("demo-v2.yaml");
    Path v3File = ex.resolve("rollouts").resolve("demo-v3.yaml");
    JsonNode v2Rollout = only(v2File, "Rollout");
    tl.event("rolling out " + v2 + " (" + display(v2File) + "): " + steps(v2Rollout));
    apply(v2File.getFileName().toString(), read(v2File), home);
    JsonNode end = follow(v2Rollout.path("metadata").path("name").asText(), v2, traffic);
    expect(end.path("action").asText().equals("promoted"), v2 + " was expected to be promoted; the rollout ended "
        + end.path("action").asText() + ": " + end.path("reason").asText());
    tl.event("traffic so far: " + tallies(traffic));

    // v3: its eval gate fails; forced out without it, the analysis rolls it back.
    JsonNode v3Rollout = only(v3File, "Rollout");
    String v3Name = v3Rollout.path("metadata").path("name").asText();
    tl.event("rolling out " + v3 + " (" + display(v3File) + "): " + steps(v3Rollout));
    apply(v3File.getFileName().toString(), read(v3File), home);
    end = follow(v3Name, v3, traffic);
    boolean gateFailed = end.path("action").asText().equals("rolled-back") && end.path("evidence").has("pass1");
    expect(gateFailed, v3 + " was expected to fail its eval gate; the rollout ended " + end.path("action").asText() + ": "
        + end.path("reason").asText());
    if (!gateFailed) {
      return;
    }
    ObjectNode forced = (ObjectNode) v3Rollout.deepCopy();
    ArrayNode steps = (ArrayNode) forced.path("spec").path("strategy").path("canary").path("steps");
    for (int i = steps.size() - 1; i >= 0; i--) {
      if (steps.get(i).has("evalGate")) {
        steps.remove(i);
      }
    }
    tl.event("forcing " + v3 + " out anyway: the same Rollout without its evalGate step (a changed Rollout that is over "
        + "starts a new attempt): " + steps(forced));
    apply(v3File.getFileName().toString().replace(".yaml", "-forced.yaml"), Json.writeYaml(forced), home);
    end = follow(v3Name, v3, traffic);
    boolean analysed = end.path("action").asText().equals("rolled-back") && end.path("evidence").has("metrics");
    expect(analysed, v3 + " was expected to be rolled back by the analysis; the rollout ended " + end.path("action").asText()
        + ": " + end.path("reason").asText());
    tl.event("traffic so far: " + tallies(traffic));
    modelGateway(s);
    audit();
    if (failures.isEmpty()) {
      tl.event("story over: " + v2 + " passed its eval gate and was promoted; " + v3 + " failed its eval gate, and "
          + "forced out without it, was rolled back automatically");
    }
  }

  /** Follows a rollout's decisions until it ends; narrates each one; answers the decision that ended it. */
  private JsonNode follow(String rollout, String candidate, DemoTraffic traffic) {
    long deadline = System.nanoTime() + ROLLOUT_TIMEOUT.toNanos();
    Instant trafficSince = null;
    while (true) {
      JsonNode items = api.get("/api/v1/rollouts/" + rollout + "/decisions?limit=100").path("items");
      for (JsonNode d : items) {
        long seq = d.path("seq").asLong();
        if (seq <= seenDecision.getOrDefault(rollout, 0L)) {
          continue;
        }
        seenDecision.put(rollout, seq);
        String action = d.path("action").asText();
        String reason = d.path("reason").asText();
        JsonNode evidence = d.path("evidence");
        Instant at = Instant.parse(d.path("at").asText());
        if (evidence.has("pass1")) {
          evalGate(candidate, evidence);
        }
        switch (action) {
          case "step.completed" -> {
            if (!evidence.has("pass1")) {
              tl.event(reason);
            }
            if (trafficSince == null && reason.contains("setWeight")) {
              trafficSince = at;
            }
            if (reason.contains("(pause")) {
              liveAnalysis(rollout);
            }
          }
          case "promoted" -> {
            tl.event("✓ " + candidate + " promoted: " + reason);
            return d;
          }
          case "rolled-back" -> {
            if (evidence.has("metrics")) {
              String after = trafficSince == null ? "" : String.format(Locale.ROOT, ", %.1fs after it first got traffic",
                  Duration.between(trafficSince, at).toMillis() / 1000.0);
              List<String> lines = new ArrayList<>();
              lines.add("evidence (stored with the decision; `flightdeck rollout describe " + rollout + "`):");
              RolloutView.of(true).evidence(evidence.path("metrics")).forEach(l -> lines.add("  " + l.stripTrailing()));
              tl.event("✗ " + candidate + " rolled back automatically" + after + ": " + reason, lines);
            } else {
              tl.event("✗ " + candidate + " rolled back: " + reason.replaceFirst("^step \\d+/\\d+ \\(evalGate [^)]*\\) failed: .*",
                  "its eval gate failed, before it got any traffic"));
            }
            return d;
          }
          case "aborted", "undone" -> {
            tl.event("rollout/" + rollout + " " + action + ": " + reason);
            return d;
          }
          default -> tl.event("rollout/" + rollout + " " + action + ": " + reason);
        }
      }
      if (System.nanoTime() > deadline) {
        JsonNode st = api.get("/api/v1/rollouts/" + rollout + "/status");
        throw new CliException(ExitCodes.FAILED, "error: rollout/" + rollout + " did not end within "
            + ROLLOUT_TIMEOUT.toSeconds() + "s (phase " + st.path("phase").asText() + ": " + st.path("message").asText()
            + "); traffic: " + tallies(traffic));
      }
      DemoProcesses.sleep(Duration.ofMillis(200));
    }
  }

  /** The eval gate's verdict from its evidence: pass@1, its interval, the runs, the failing cases. */
  private void evalGate(String candidate, JsonNode e) {
    boolean passed = e.path("gatePassed").asBoolean();
    evalRuns.merge(candidate, e.path("runs").asLong(), Long::sum);
    List<String> failing = new ArrayList<>();
    e.path("failingCases").forEach(c -> failing.add(c.asText()));
    tl.event(String.format(Locale.ROOT, "eval gate on %s (evalsuite/%s, against the version directly): pass@1 %.2f "
        + "(95%% CI %.2f–%.2f) over %d runs %s", candidate, e.path("suite").asText(), e.path("pass1").asDouble(),
        e.path("ci").path("low").asDouble(), e.path("ci").path("high").asDouble(), e.path("runs").asLong(),
        passed ? "✓ passed" : "✗ failed"), failing.isEmpty() ? List.of() : List.of("failing cases: " + String.join(", ", failing)));
  }

  /** The rollout's background analysis as it stands, when there is one. */
  private void liveAnalysis(String rollout) {
    JsonNode a = api.get("/api/v1/rollouts/" + rollout + "/status").path("analysis");
    if (a.path("metrics").isArray() && !a.path("metrics").isEmpty()) {
      List<String> lines = new ArrayList<>();
      RolloutView.of(true).evidence(a.path("metrics")).forEach(l -> lines.add("  " + l.stripTrailing()));
      tl.event("analysis so far: " + a.path("verdict").asText() + " (" + a.path("mode").asText("sequential") + ", α "
          + RolloutView.number(a.path("alpha")) + ")", lines);
    }
  }

  /** What the model gateway saw per version: requests, model calls, tokens, cost, halted sessions (from /metrics). */
  private void modelGateway(Setup s) {
    Map<String, double[]> per = new TreeMap<>(); // requests, model calls, tokens, cost, halts
    for (Metric m : metrics()) {
      String v = m.labels().getOrDefault("version", "");
      if (!v.startsWith(AGENT) || !AGENT.equals(m.labels().get("agent"))) {
        continue;
      }
      double[] a = per.computeIfAbsent(v, k -> new double[5]);
      switch (m.name()) {
        case "flightdeck_gateway_request_duration_seconds_count" -> {
          if (!"true".equals(m.labels().get("shadow"))) {
            a[0] += m.value();
          }
        }
        case "flightdeck_model_calls_total" -> a[1] += m.value();
        case "flightdeck_model_tokens_total" -> a[2] += m.value();
        case "flightdeck_model_cost_usd_total" -> a[3] += m.value();
        case "flightdeck_model_sessions_halted_total" -> a[4] += m.value();
        default -> { }
      }
    }
    List<List<String>> rows = new ArrayList<>();
    long halts = 0;
    for (var e : per.entrySet()) {
      double[] a = e.getValue();
      double requests = a[0] + evalRuns.getOrDefault(e.getKey(), 0L);
      halts += (long) a[4];
      rows.add(List.of(e.getKey(), number(requests), number(a[1]), number(a[2]),
          requests == 0 ? "-" : number(Math.round(a[2] / requests)), String.format(Locale.ROOT, "$%.4f", a[3]),
          number(a[4])));
    }
    List<String> lines = new ArrayList<>(Output.tableLines(List.of("VERSION", "AGENT REQUESTS", "MODEL CALLS", "TOKENS",
        "TOKENS/REQUEST", "COST", "HALTED SESSIONS"), rows));
    lines.add("agent requests: through the gateway and the eval gates' runs; halted: the same model call repeated "
        + "past spec.modelGateway.runaway.maxRepeats");
    tl.event("model gateway (" + s.gateway() + "/v1): " + halts + " sessions halted as runaway loops; per version:",
        lines.stream().map(String::stripTrailing).toList());
  }

  /** The audit log: the halts it recorded, and that its hash chain is intact. */
  private void audit() {
    JsonNode items = api.get("/api/v1/audit?limit=10000").path("items");
    long halts = 0;
    long rollouts = 0;
    Optional<String> example = Optional.empty();
    for (JsonNode e : items) {
      String action = e.path("action").asText();
      if (action.equals("session.halt")) {
        halts++;
        if (example.isEmpty()) {
          example = Optional.of(e.path("details").asText());
        }
      } else if (action.startsWith("rollout.")) {
        rollouts++;
      }
    }
    JsonNode verify = api.post("/api/v1/audit/verify", null, null);
    List<String> lines = new ArrayList<>();
    example.ifPresent(x -> lines.add("a halt: " + x));
    lines.add("verify: " + verify.path("summary").asText());
    tl.event("audit log: " + items.size() + " entries, " + rollouts + " rollout decisions, " + halts + " session halts", lines);
  }

  private void expect(boolean ok, String otherwise) {
    if (!ok) {
      failures.add(otherwise);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // After the story

  private void explore(Setup s, Path home, DemoProcesses children) {
    List<String> lines = new ArrayList<>();
    lines.add("");
    lines.add("Everything is still running, with a trickle of tickets (2 a second):");
    lines.add("  API " + s.server() + ", gateway " + s.gateway() + ", simulated LLM " + s.simBaseUrl());
    s.agentPorts().forEach((v, p) -> lines.add("  " + v + " on http://127.0.0.1:" + p));
    lines.add("  logs: " + display(home.resolve("logs")) + "/ (" + String.join(", ",
        children.children().stream().map(c -> c.log().getFileName().toString()).toList()) + ")");
    lines.add("");
    lines.add("Explore it from another terminal:");
    lines.add("  export FLIGHTDECK_CONFIG=" + s.config() + "   # this demo's server and admin token");
    lines.add("  ./flightdeck get rollouts");
    lines.add("  ./flightdeck rollout describe support-triage-v3      # every decision, with its evidence");
    lines.add("  ./flightdeck rollout status support-triage-v2");
    lines.add("  ./flightdeck get agent support-triage -o yaml");
    lines.add("  ./flightdeck audit verify");
    lines.add("  curl -s " + s.gateway() + "/agents/support-triage/triage -H 'X-Flightdeck-Session: me-1' \\");
    lines.add("       -d '{\"ticket\": \"I was charged twice, please refund one payment. ana@northwind.example\"}'");
    lines.add("");
    lines.add("Ctrl-C stops everything.");
    lines.forEach(tl::plain);
  }

  private static void waitForever() {
    try {
      new CountDownLatch(1).await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void removeHook(Thread hook) {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // the JVM is already shutting down: the hook runs anyway, and stopping twice is harmless
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  /** The examples folder: --examples, else ./examples, else the one in the checkout the CLI jar was built in. */
  private Path examplesDir() {
    if (examples != null) {
      return examples;
    }
    Path here = Path.of("examples");
    if (Files.isRegularFile(here.resolve("support-triage.yaml"))) {
      return here;
    }
    try {
      // cli/target/flightdeck.jar (or cli/target/classes) → the checkout's examples/
      Path code = Path.of(DemoCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      Path checkout = code.getParent().getParent().getParent().resolve("examples");
      if (Files.isRegularFile(checkout.resolve("support-triage.yaml"))) {
        return checkout;
      }
    } catch (java.net.URISyntaxException | RuntimeException e) {
      // fall through to the error below
    }
    throw new CliException(ExitCodes.INVALID, "error: no examples/ folder here; run the demo from the repository root "
        + "or give --examples DIR");
  }

  /**
   * Creates the demo folder, wiping it first when it is the demo's; refuses a folder that holds
   * anything else, or one a running demo uses.
   */
  private static Path prepare(Path home) {
    try {
      Path pid = home.resolve("demo.pid");
      if (Files.isRegularFile(pid)) {
        Optional<ProcessHandle> running = Optional.empty();
        try {
          running = ProcessHandle.of(Long.parseLong(Files.readString(pid).strip())).filter(ProcessHandle::isAlive)
              .filter(p -> p.info().commandLine().map(c -> c.contains("demo")).orElse(true)); // not a reused pid
        } catch (NumberFormatException e) {
          // not a pid: a leftover, wiped below
        }
        if (running.isPresent()) {
          throw new CliException(ExitCodes.INVALID, "error: another demo (process " + running.get().pid() + ") is using "
              + home + "; stop it (Ctrl-C) or give another --dir");
        }
      }
      if (Files.isDirectory(home) && !Files.exists(home.resolve(MARKER))) {
        try (Stream<Path> s = Files.list(home)) {
          if (s.findAny().isPresent()) {
            throw new CliException(ExitCodes.INVALID, "error: " + home + " is not empty and is not a demo folder (no "
                + MARKER + " in it); give another --dir");
          }
        }
      }
      if (Files.exists(home)) {
        try (Stream<Path> s = Files.walk(home)) {
          for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
            Files.delete(p);
          }
        }
      }
      Files.createDirectories(home);
      try {
        // The server's log and the CLI config hold the demo's admin token: for this user's eyes only.
        Files.setPosixFilePermissions(home, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
      } catch (UnsupportedOperationException e) {
        // not a POSIX file system
      }
      Files.writeString(home.resolve(MARKER), "This folder belongs to `flightdeck demo`, which wipes it at each start.\n");
      Files.writeString(pid, ProcessHandle.current().pid() + "\n");
      return home;
    } catch (IOException e) {
      throw new CliException(ExitCodes.FAILED, "error: cannot prepare " + home + ": " + e.getMessage());
    }
  }

  private void apply(String name, String content, Path home) {
    write(home.resolve("resources").resolve("rollouts").resolve(name), content);
    ObjectNode body = Json.object();
    body.putArray("files").addObject().put("name", name).put("content", content);
    api.post("/api/v1/apply", "application/vnd.flightdeck.files+json", Json.write(body).getBytes(StandardCharsets.UTF_8));
  }

  private String routes() {
    List<String> parts = new ArrayList<>();
    api.get("/api/v1/agents/" + AGENT).path("spec").path("routes")
        .forEach(r -> parts.add(r.path("version").asText() + " " + r.path("weight").asInt() + "%"));
    return String.join(", ", parts);
  }

  private static String tallies(DemoTraffic traffic) {
    List<String> parts = new ArrayList<>();
    traffic.tallies().forEach((v, t) -> parts.add(v + " " + t.requests() + (t.failed() + t.halted() == 0 ? ""
        : " (" + (t.failed() > 0 ? t.failed() + " failed" : "") + (t.failed() > 0 && t.halted() > 0 ? ", " : "")
        + (t.halted() > 0 ? t.halted() + " halted" : "") + ")")));
    return traffic.sent() + " tickets sent; answered by " + (parts.isEmpty() ? "none yet" : String.join(", ", parts));
  }

  private static long answered(DemoTraffic traffic) {
    return traffic.tallies().values().stream().mapToLong(DemoTraffic.Tally::requests).sum();
  }

  private static String steps(JsonNode rollout) {
    List<String> parts = new ArrayList<>();
    for (JsonNode st : rollout.path("spec").path("strategy").path("canary").path("steps")) {
      String k = st.fieldNames().next();
      JsonNode v = st.path(k);
      parts.add(switch (k) {
        case "evalGate" -> "eval gate";
        case "setWeight" -> v.asText() + "%";
        case "pause" -> "pause " + v.path("duration").asText("until promoted");
        default -> k;
      });
    }
    JsonNode bg = rollout.path("spec").path("strategy").path("canary").path("analysis");
    List<String> metrics = new ArrayList<>();
    bg.path("metrics").forEach(m -> metrics.add(m.path("name").asText()));
    return String.join(" → ", parts) + (metrics.isEmpty() ? "" : ", with " + String.join(" and ", metrics)
        + " analysed all along");
  }

  /** The documents of a YAML file of the given kind. */
  private static List<JsonNode> documents(Path file, String kind) {
    return ResourceReader.readDocuments(ResourceReader.Source.of(file.toString(), read(file))).stream()
        .map(ResourceReader.Document::root).filter(r -> kind.equals(r.path("kind").asText())).toList();
  }

  private static JsonNode only(Path file, String kind) {
    if (!Files.isRegularFile(file)) {
      throw new CliException(ExitCodes.INVALID, "error: " + file + " is missing");
    }
    List<JsonNode> docs = documents(file, kind);
    if (docs.size() != 1) {
      throw new CliException(ExitCodes.INVALID, "error: " + file + ": expected one " + kind + ", found " + docs.size());
    }
    return docs.get(0);
  }

  private static Optional<Integer> localPort(String url) {
    Matcher m = LOCAL_PORT.matcher(url);
    return m.find() ? Optional.of(Integer.parseInt(m.group(1))) : Optional.empty();
  }

  /** The text with every {@code 127.0.0.1:FROM} whose port moved replaced by {@code 127.0.0.1:TO}. */
  static String rewrite(String text, Map<Integer, Integer> moved) {
    Matcher m = LOCAL_PORT.matcher(text);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      int port = Integer.parseInt(m.group(1));
      m.appendReplacement(sb, "127.0.0.1:" + moved.getOrDefault(port, port));
    }
    m.appendTail(sb);
    return sb.toString();
  }

  private static List<Path> list(Path folder) {
    try (Stream<Path> s = Files.list(folder)) {
      return s.filter(Files::isRegularFile).filter(ApplyCommand::isResourceFile).sorted().toList();
    } catch (IOException e) {
      throw new CliException(ExitCodes.INVALID, "error: cannot list " + folder + ": " + e.getMessage());
    }
  }

  private static String read(Path f) {
    try {
      return Files.readString(f, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new CliException(ExitCodes.INVALID, "error: cannot read " + f + ": " + e.getMessage());
    }
  }

  private static void write(Path f, String content) {
    try {
      Files.createDirectories(f.getParent());
      Files.writeString(f, content, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new CliException(ExitCodes.FAILED, "error: cannot write " + f + ": " + e.getMessage());
    }
  }

  private static Optional<String> token(Path config) {
    try {
      if (!Files.isRegularFile(config)) {
        return Optional.empty();
      }
      return ClientConfig.resolve(Optional.empty(), Optional.empty(), Map.of("FLIGHTDECK_CONFIG", config.toString()),
          Path.of("/nonexistent")).token();
    } catch (RuntimeException e) {
      return Optional.empty(); // being written
    }
  }

  private static final HttpClient PROBE = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private static boolean ok(String url) {
    try {
      return PROBE.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCodes.FAILED, "error: interrupted");
    }
  }

  /** A Prometheus sample. */
  record Metric(String name, Map<String, String> labels, double value) {}

  private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})?\\s+(\\S+)$");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  private List<Metric> metrics() {
    List<Metric> out = new ArrayList<>();
    String text = api.text("/metrics");
    for (String line : text.split("\n")) {
      Matcher m = SAMPLE.matcher(line.strip());
      if (line.startsWith("#") || !m.matches()) {
        continue;
      }
      Map<String, String> labels = new LinkedHashMap<>();
      if (m.group(2) != null) {
        Matcher l = LABEL.matcher(m.group(2));
        while (l.find()) {
          labels.put(l.group(1), l.group(2));
        }
      }
      try {
        out.add(new Metric(m.group(1), labels, Double.parseDouble(m.group(3))));
      } catch (NumberFormatException e) {
        // NaN and the like: not a count
      }
    }
    return out;
  }

  private static String number(double d) {
    return d == Math.rint(d) ? Long.toString((long) d) : String.format(Locale.ROOT, "%.1f", d);
  }

  private static String display(Path p) {
    Path cwd = Path.of("").toAbsolutePath();
    Path abs = p.toAbsolutePath().normalize();
    return abs.startsWith(cwd) && !abs.equals(cwd) ? cwd.relativize(abs).toString() : abs.toString();
  }
}

package dev.flightdeck.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.InvalidResourceException;
import dev.flightdeck.api.parse.Diagnostic;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.embeddings.MiniLm;
import dev.flightdeck.eval.assertion.AssertionContext;
import dev.flightdeck.eval.assertion.Judge;
import dev.flightdeck.eval.report.EvalReport;
import dev.flightdeck.eval.report.HtmlReport;
import dev.flightdeck.eval.report.JunitXml;
import dev.flightdeck.eval.report.MarkdownSummary;
import dev.flightdeck.eval.report.TextSummary;
import dev.flightdeck.eval.run.EvalRunner;
import dev.flightdeck.eval.run.Progress;
import dev.flightdeck.eval.run.RunCache;
import dev.flightdeck.eval.run.Target;
import dev.flightdeck.eval.stats.CaseTally;
import dev.flightdeck.eval.suite.Suite;
import dev.flightdeck.eval.suite.SuiteCompiler;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code flightdeck eval}: run an EvalSuite against an agent and gate on the result. */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = "Runs eval suites: every case N times, assertions, statistics, a CI gate.",
    subcommands = {EvalCommand.Run.class, EvalCommand.Validate.class, EvalCommand.History.class})
final class EvalCommand {

  static final String[] EXIT_CODES = {"", "Exit codes:", "  0  the gate passed",
      "  1  the gate failed (a statistically supported regression, or below the threshold)",
      "  2  invalid suite, case file, baseline or usage (each error with file:line:column: field)",
      "  3  the target could not be reached (no run got an answer)"};

  /** {@code flightdeck eval run}. */
  @Command(name = "run", mixinStandardHelpOptions = true,
      description = {"Runs a suite against a target and prints pass@1 with its interval, flaky cases and the gate.",
          "TARGET is a URL, agent/NAME (through the gateway) or agentversion/NAME (its endpoint, looked up on the server)."},
      footer = {"", "Examples:",
          "  flightdeck eval run -f examples/evalsuite.yaml --target http://127.0.0.1:9102",
          "  flightdeck eval run -f suite.yaml --target agentversion/support-triage-v2 --baseline v1.json -o json:v2.json",
          "  flightdeck eval run -f suite.yaml --runs 50 --adaptive -o html:report.html -o md:summary.md -o junit:junit.xml",
          "", "Exit codes:", "  0  the gate passed", "  1  the gate failed",
          "  2  invalid suite, case file, baseline or usage (each error with file:line:column: field)",
          "  3  the target could not be reached (no run got an answer)"})
  static final class Run implements Callable<Integer> {

    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE", description = "The EvalSuite file (YAML or JSON).")
    Path file;

    @Option(names = "--suite", paramLabel = "NAME", description = "Which suite, when the file holds several.")
    String suiteName;

    @Option(names = {"-t", "--target"}, paramLabel = "TARGET", description = "URL, agent/NAME or agentversion/NAME (default: spec.target).")
    String target;

    @Option(names = "--baseline", paramLabel = "REPORT", description = "A JSON report of an earlier run to compare with (paired, per case).")
    Path baseline;

    @Option(names = {"-n", "--runs"}, paramLabel = "N", description = "Runs per case (default: spec.runs, else 5).")
    Integer runs;

    @Option(names = {"-c", "--concurrency"}, paramLabel = "N", description = "Runs in flight at once (default: spec.concurrency, else 8).")
    Integer concurrency;

    @Option(names = "--adaptive", description = "Stop repeating a case once a sequential test settles its verdict.")
    boolean adaptive;

    @Option(names = "--margin", paramLabel = "M", description = "Largest accepted drop against the baseline (default: spec.gate.margin, else 0.05).")
    Double margin;

    @Option(names = {"-o", "--output"}, paramLabel = "TYPE[:FILE]",
        description = "Write a report: json, junit, html or md, to FILE or standard output. Repeatable.")
    List<String> outputs = new ArrayList<>();

    @Option(names = "--cache", arity = "0..1", paramLabel = "DIR", fallbackValue = ".flightdeck/eval-cache",
        description = "Reuse stored answers for the same target, request and run index (default dir: ${FALLBACK-VALUE}).")
    Path cacheDir;

    @Option(names = "--gateway", paramLabel = "URL", description = "Gateway for agent/NAME targets (env FLIGHTDECK_GATEWAY, default http://127.0.0.1:7080).")
    String gateway;

    @Option(names = "--no-progress", description = "No progress bar or progress lines.")
    boolean noProgress;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      List<Output> writers = outputs.stream().map(Output::parse).toList();
      Suite suite = load(file, suiteName);
      if (runs != null) {
        if (runs < 1 || runs > 100_000) {
          throw new CliException(ExitCodes.INVALID, "error: --runs must be 1..100000, got " + runs);
        }
        suite = suite.withRuns(runs);
      }
      if (concurrency != null) {
        if (concurrency < 1 || concurrency > 4096) {
          throw new CliException(ExitCodes.INVALID, "error: --concurrency must be 1..4096, got " + concurrency);
        }
        suite = suite.withConcurrency(concurrency);
      }
      if (adaptive) {
        suite = suite.withAdaptive(true);
      }
      if (margin != null) {
        if (margin < 0 || margin > 1) {
          throw new CliException(ExitCodes.INVALID, "error: --margin must be 0..1, got " + margin);
        }
        suite = suite.withMargin(margin);
      }
      Optional<List<CaseTally>> base = Optional.ofNullable(baseline).map(Run::readBaseline);
      Target t = resolve(Optional.ofNullable(target).or(suite::target).orElseThrow(() -> new CliException(
          ExitCodes.INVALID, "error: no target: pass --target URL|agent/NAME|agentversion/NAME or set spec.target")));

      HttpClient http = EvalRunner.defaultClient(Duration.ofSeconds(5));
      Optional<RunCache> cache = Optional.ofNullable(cacheDir).map(RunCache::open);
      EvalRunner runner = null;
      try {
        Judge.Cache judgeCache = cache.map(RunCache::judgeCache).orElseGet(Judge.Cache::inMemory);
        Optional<Judge> judge = suite.judge().map(j -> new Judge(j, http, judgeCache));
        AssertionContext context = new AssertionContext((a, b) -> MiniLm.shared().similarity(a, b), judge);
        Progress progress = noProgress ? Progress.NONE : ProgressBar.forStderr(err);
        runner = new EvalRunner(context, cache, progress);
        EvalRunner.Result result = runner.run(suite, t);
        if (progress instanceof ProgressBar bar) {
          bar.finish();
        }
        EvalReport report = EvalReport.build(suite, t.id(), result, base);
        boolean jsonToStdout = writers.stream().anyMatch(w -> w.file().isEmpty());
        (jsonToStdout ? err : out).print(TextSummary.render(report));
        (jsonToStdout ? err : out).flush();
        for (Output w : writers) {
          w.write(report, out);
        }
        if (report.unreachable()) {
          err.println("error: " + t.id() + " could not be reached: " + report.cases().get(0).results().get(0).error().orElse(""));
          return ExitCodes.UNREACHABLE;
        }
        return report.gate().passed() ? ExitCodes.OK : ExitCodes.FAILED;
      } finally {
        if (runner != null) {
          runner.close();
        }
        cache.ifPresent(RunCache::close);
      }
    }

    private static List<CaseTally> readBaseline(Path p) {
      try {
        JsonNode n = Json.mapper().readTree(Files.readString(p, StandardCharsets.UTF_8));
        return EvalReport.baseline(n, p.toString());
      } catch (IOException e) {
        throw new CliException(ExitCodes.INVALID, "error: " + p + ": cannot read the baseline report: " + e.getMessage());
      } catch (IllegalArgumentException e) {
        throw new CliException(ExitCodes.INVALID, "error: " + e.getMessage());
      }
    }

    private Target resolve(String t) {
      try {
        return Target.resolve(t,
            () -> Optional.ofNullable(gateway).or(() -> Optional.ofNullable(Connection.env.get("FLIGHTDECK_GATEWAY")))
                .orElse("http://127.0.0.1:7080"),
            name -> connection.client().get("/api/v1/agentversions/" + name).path("spec"));
      } catch (IllegalArgumentException e) {
        throw new CliException(ExitCodes.INVALID, "error: --target: " + e.getMessage());
      }
    }
  }

  /** {@code flightdeck eval validate}. */
  @Command(name = "validate", mixinStandardHelpOptions = true,
      description = "Checks a suite and its case files without running anything; prints every error with its position.",
      footer = {"", "Example:", "  flightdeck eval validate -f examples/evalsuite.yaml"})
  static final class Validate implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE", description = "The EvalSuite file.")
    Path file;

    @Option(names = "--suite", paramLabel = "NAME", description = "Which suite, when the file holds several.")
    String suiteName;

    @Override
    public Integer call() {
      Suite s = load(file, suiteName);
      int assertions = s.cases().stream().mapToInt(c -> c.assertions().size()).sum();
      spec.commandLine().getOut().println(file + ": suite " + s.name() + " is valid: " + s.cases().size() + " cases, "
          + assertions + " assertions, " + s.runs() + " runs each");
      return ExitCodes.OK;
    }
  }

  /** {@code flightdeck eval history}. */
  @Command(name = "history", mixinStandardHelpOptions = true,
      description = "Lists the stored results of a suite's scheduled runs (health evals), newest first.",
      footer = {"", "Example:", "  flightdeck eval history support-triage-golden --limit 10"})
  static final class History implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @picocli.CommandLine.Parameters(paramLabel = "SUITE", description = "The EvalSuite's name.")
    String suite;

    @Option(names = "--limit", defaultValue = "20", description = "How many runs (default: ${DEFAULT-VALUE}).")
    int limit;

    @Override
    public Integer call() {
      JsonNode items = connection.client().get("/api/v1/evalsuites/" + suite + "/runs?limit=" + limit).path("items");
      PrintWriter out = spec.commandLine().getOut();
      out.println(String.format(Locale.ROOT, "%-24s %-8s %7s %-15s %6s  %s", "SCHEDULED", "STATE", "PASS@1", "95% CI", "RUNS",
          "FAILING CASES"));
      for (JsonNode r : items) {
        out.println(String.format(Locale.ROOT, "%-24s %-8s %7s %-15s %6s  %s", r.path("scheduledAt").asText(),
            r.path("state").asText(), r.has("pass1") ? String.format(Locale.ROOT, "%.3f", r.get("pass1").asDouble()) : "-",
            r.has("ciLow") ? String.format(Locale.ROOT, "%.3f–%.3f", r.get("ciLow").asDouble(), r.get("ciHigh").asDouble()) : "-",
            r.path("runs").asText("-"), failing(r.path("summary").path("failingCases"))));
      }
      return ExitCodes.OK;
    }

    private static String failing(JsonNode cases) {
      List<String> names = new ArrayList<>();
      cases.forEach(c -> names.add(c.asText()));
      return names.isEmpty() ? "-" : String.join(",", names);
    }
  }

  static Suite load(Path file, String name) {
    try {
      return SuiteCompiler.standard().load(file, Optional.ofNullable(name));
    } catch (InvalidResourceException e) {
      List<String> lines = new ArrayList<>();
      for (Diagnostic d : e.diagnostics()) {
        lines.add(d.toString());
      }
      lines.add(e.diagnostics().size() + (e.diagnostics().size() == 1 ? " error" : " errors") + "; nothing was run");
      throw new CliException(ExitCodes.INVALID, lines);
    }
  }

  /** One -o option: a format and where it goes. */
  record Output(String type, Optional<Path> file) {
    static Output parse(String s) {
      int colon = s.indexOf(':');
      String type = (colon < 0 ? s : s.substring(0, colon)).toLowerCase(Locale.ROOT);
      if (!List.of("json", "junit", "html", "md").contains(type)) {
        throw new CliException(ExitCodes.INVALID, "error: -o " + s + ": expected json, junit, html or md, optionally :FILE");
      }
      return new Output(type, colon < 0 ? Optional.empty() : Optional.of(Path.of(s.substring(colon + 1))));
    }

    void write(EvalReport r, PrintWriter stdout) {
      String text = switch (type) {
        case "json" -> Json.write(r.toJson()) + "\n";
        case "junit" -> JunitXml.render(r);
        case "html" -> HtmlReport.render(r);
        default -> MarkdownSummary.render(r);
      };
      if (file.isEmpty()) {
        stdout.print(text);
        stdout.flush();
        return;
      }
      try {
        Path parent = file.get().toAbsolutePath().getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        Files.writeString(file.get(), text, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new CliException(ExitCodes.FAILED, "error: cannot write " + file.get() + ": " + e.getMessage());
      }
    }
  }
}

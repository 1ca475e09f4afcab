package dev.flightdeck.eval.suite;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import dev.flightdeck.api.InvalidResourceException;
import dev.flightdeck.api.parse.Diagnostic;
import dev.flightdeck.api.parse.ParsedResource;
import dev.flightdeck.api.parse.ResourceReader;
import dev.flightdeck.api.parse.SourceMap;
import dev.flightdeck.api.resource.Durations;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.eval.assertion.Assertion;
import dev.flightdeck.eval.assertion.Assertions;
import dev.flightdeck.eval.pii.PiiDetector;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Turns an EvalSuite resource (a file, or a stored resource) into a runnable {@link Suite}:
 * loads cases from files, renders each case's request and assertions with its variables, and
 * compiles the assertions. Every mistake in the suite and its case files is collected and thrown
 * at once as an {@link InvalidResourceException}, each with file, line, column and field.
 */
public final class SuiteCompiler {

  /** Most cases one suite may hold, inline and from files together. */
  public static final int MAX_CASES = 100_000;
  /** Largest CSV case file read. */
  public static final long MAX_CSV_BYTES = 64L * 1024 * 1024;
  private static final Set<String> CASE_FIELDS = Set.of("name", "description", "vars", "assert");

  private final Function<String, String> env;

  private SuiteCompiler(Function<String, String> env) {
    this.env = env;
  }

  /** A compiler that reads {@code ${env:NAME}} from the process environment. */
  public static SuiteCompiler standard() {
    return new SuiteCompiler(System::getenv);
  }

  /** A compiler with its own environment (tests). */
  public static SuiteCompiler withEnv(Function<String, String> env) {
    return new SuiteCompiler(env);
  }

  /**
   * Reads the EvalSuite in a file (the same file {@code flightdeck apply} takes). When the file
   * holds several suites, {@code name} picks one. @throws InvalidResourceException
   */
  public Suite load(Path file, Optional<String> name) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new InvalidResourceException(List.of(new Diagnostic(file.toString(), 0, 0, "",
          "cannot read the suite file: " + e.getMessage())));
    }
    List<ParsedResource> docs = new ResourceReader().read(new ResourceReader.Source(file.toString(), bytes));
    List<ParsedResource> suites = docs.stream()
        .filter(p -> p.resource().kind() == Kind.EVAL_SUITE)
        .filter(p -> name.isEmpty() || p.resource().name().equals(name.get()))
        .toList();
    if (suites.size() != 1) {
      String names = docs.stream().filter(p -> p.resource().kind() == Kind.EVAL_SUITE)
          .map(p -> p.resource().name()).toList().toString();
      throw new InvalidResourceException(List.of(new Diagnostic(file.toString(), 0, 0, "",
          suites.isEmpty() ? "expected an EvalSuite" + name.map(n -> " named " + n).orElse("") + ", found "
              + (names.equals("[]") ? "none" : names)
              : "expected one EvalSuite, found " + names + "; pick one with --suite NAME")));
    }
    Path base = file.toAbsolutePath().getParent();
    return compile(suites.get(0), base == null ? Path.of(".") : base);
  }

  /** Compiles a parsed suite; {@code baseDir} resolves casesFrom. @throws InvalidResourceException */
  public Suite compile(ParsedResource parsed, Path baseDir) {
    List<Diagnostic> problems = new ArrayList<>();
    Consumer<Diagnostic> out = problems::add;
    SourceMap map = parsed.sourceMap();
    JsonNode spec = parsed.resource().spec();

    List<RawCase> raw = new ArrayList<>();
    JsonNode inline = spec.path("cases");
    for (int i = 0; i < inline.size(); i++) {
      raw.add(new RawCase(inline.get(i), SourceMap.index("spec.cases", i), map));
    }
    if (spec.has("casesFrom")) {
      raw.addAll(casesFrom(baseDir.resolve(spec.get("casesFrom").asText()), map, out));
    }
    if (raw.size() > MAX_CASES) {
      out.accept(map.at("spec", "the suite has " + raw.size() + " cases; expected at most " + MAX_CASES));
      throw new InvalidResourceException(problems);
    }
    if (raw.isEmpty() && problems.isEmpty()) {
      out.accept(map.at("spec", "expected at least one case, got none"));
    }

    Optional<Suite.JudgeSpec> judge = Optional.empty();
    if (spec.has("judge")) {
      JsonNode j = spec.get("judge");
      judge = Optional.of(new Suite.JudgeSpec(URI.create(j.get("baseUrl").asText()), j.get("model").asText(),
          Optional.ofNullable(j.get("apiKeyEnv")).map(JsonNode::asText), j.path("retries").asInt(2),
          Durations.parse(j.path("timeout").asText(""), Duration.ofSeconds(30))));
    }
    Assertions.Inputs base = new Assertions.Inputs("", judge.isPresent(), PiiDetector.standard());
    Map<String, JsonNode> defaults = fields(spec.path("vars"));
    JsonNode request = spec.path("request");
    Map<String, String> seen = new HashMap<>();
    List<Suite.EvalCase> cases = new ArrayList<>();
    for (RawCase rc : raw) {
      Optional<Suite.EvalCase> c = compileCase(rc, defaults, request, spec.path("assert"), map, base, out);
      c.ifPresent(ec -> {
        Diagnostic here = rc.map().at(SourceMap.field(rc.path(), "name"), "");
        String where = here.source() + ":" + here.line();
        String first = seen.putIfAbsent(ec.name(), where);
        if (first != null) {
          out.accept(rc.map().at(SourceMap.field(rc.path(), "name"), "case \"" + ec.name()
              + "\" is defined twice (first at " + first + "); expected unique names"));
        } else {
          cases.add(ec);
        }
      });
    }
    if (!problems.isEmpty()) {
      problems.sort(java.util.Comparator.comparing(Diagnostic::source).thenComparingInt(Diagnostic::line)
          .thenComparingInt(Diagnostic::column));
      throw new InvalidResourceException(problems);
    }
    JsonNode adaptive = spec.path("adaptive");
    JsonNode gate = spec.path("gate");
    JsonNode extract = spec.path("extract");
    JsonNode notify = spec.path("notify");
    return new Suite(
        parsed.resource().name(),
        Optional.ofNullable(spec.get("target")).map(JsonNode::asText),
        spec.path("runs").asInt(5),
        spec.path("concurrency").asInt(8),
        Durations.parse(spec.path("timeout").asText(""), Duration.ofSeconds(60)),
        spec.path("retries").asInt(2),
        spec.has("threshold") ? OptionalDouble.of(spec.get("threshold").asDouble()) : OptionalDouble.empty(),
        spec.path("caseThreshold").asDouble(0.5),
        new Suite.Adaptive(adaptive.path("enabled").asBoolean(false), adaptive.path("alpha").asDouble(0.05),
            adaptive.path("minRuns").asInt(5)),
        new Suite.Gate(gate.path("margin").asDouble(0.05), gate.path("alpha").asDouble(0.05)),
        new Suite.Extract(text(extract, "answer"), text(extract, "trajectory"), text(extract, "tokens"),
            text(extract, "cost")),
        judge,
        cases,
        text(spec, "schedule"),
        notify.isMissingNode() ? Optional.empty() : Optional.of(new Suite.Notify(
            text(notify, "webhook").map(URI::create),
            notify.has("below") ? OptionalDouble.of(notify.get("below").asDouble()) : OptionalDouble.empty())));
  }

  private static Optional<String> text(JsonNode node, String field) {
    return Optional.ofNullable(node.get(field)).filter(JsonNode::isTextual).map(JsonNode::asText);
  }

  /** A case as written: its node, where it is, and the positions of its file. */
  private record RawCase(JsonNode node, String path, SourceMap map) {}

  private Optional<Suite.EvalCase> compileCase(RawCase rc, Map<String, JsonNode> defaults, JsonNode request,
      JsonNode suiteAsserts, SourceMap suiteMap, Assertions.Inputs base, Consumer<Diagnostic> out) {
    JsonNode n = rc.node();
    SourceMap map = rc.map();
    if (!n.isObject()) {
      out.accept(map.at(rc.path(), "expected a case (a mapping with name, vars, assert), got " + Json.write(n)));
      return Optional.empty();
    }
    boolean ok = true;
    for (var it = n.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!CASE_FIELDS.contains(f)) {
        out.accept(map.atKey(SourceMap.field(rc.path(), f), "unknown field; expected one of name, description, vars, assert"));
        ok = false;
      }
    }
    if (!n.path("name").isTextual() || n.path("name").asText().isBlank()) {
      out.accept(map.at(SourceMap.field(rc.path(), "name"), "expected a case name (a non-empty string)"));
      return Optional.empty();
    }
    if (n.has("vars") && !n.get("vars").isObject()) {
      out.accept(map.at(SourceMap.field(rc.path(), "vars"), "expected a mapping of variable names to values"));
      return Optional.empty();
    }
    if (n.has("assert") && !n.get("assert").isArray()) {
      out.accept(map.at(SourceMap.field(rc.path(), "assert"), "expected a list of assertions"));
      return Optional.empty();
    }
    String name = n.get("name").asText();
    Map<String, JsonNode> vars = new LinkedHashMap<>(defaults);
    vars.putAll(fields(n.path("vars")));
    Template t = Template.of(vars, env);
    String inCase = " (in case \"" + name + "\")";

    Optional<Suite.Request> req = render(request, t, suiteMap, inCase, vars, out);
    if (req.isEmpty()) {
      return Optional.empty();
    }
    String question = req.get().body().map(b -> b.isTextual() ? b.asText() : b.toString()).orElse(name);
    Assertions.Inputs inputs = new Assertions.Inputs(question, base.judgeConfigured(), base.pii());
    List<Assertion> assertions = new ArrayList<>();
    ok &= compileAll(suiteAsserts, "spec.assert", suiteMap, t, inCase, inputs, assertions, out);
    ok &= compileAll(n.path("assert"), SourceMap.field(rc.path(), "assert"), map, t, "", inputs, assertions, out);
    if (!ok) {
      return Optional.empty();
    }
    if (assertions.isEmpty()) {
      out.accept(map.at(rc.path(), "case \"" + name + "\" has no assertions; expected at least one (in the case "
          + "or in spec.assert)"));
      return Optional.empty();
    }
    return Optional.of(new Suite.EvalCase(name, vars, req.get(), assertions));
  }

  private static boolean compileAll(JsonNode list, String path, SourceMap map, Template t, String inCase,
      Assertions.Inputs inputs, List<Assertion> into, Consumer<Diagnostic> out) {
    boolean ok = true;
    for (int i = 0; i < list.size(); i++) {
      String at = SourceMap.index(path, i);
      JsonNode rendered;
      try {
        rendered = t.render(list.get(i));
      } catch (Template.UnknownVariable e) {
        out.accept(map.at(at, e.getMessage() + inCase));
        ok = false;
        continue;
      }
      List<Diagnostic> local = new ArrayList<>();
      Optional<Assertion> a = Assertions.compile(rendered, at, map, inputs, local::add);
      local.forEach(d -> out.accept(inCase.isEmpty() ? d
          : new Diagnostic(d.source(), d.line(), d.column(), d.path(), d.message() + inCase)));
      a.ifPresent(into::add);
      ok &= a.isPresent();
    }
    return ok;
  }

  private static Optional<Suite.Request> render(JsonNode request, Template t, SourceMap map, String inCase,
      Map<String, JsonNode> vars, Consumer<Diagnostic> out) {
    String field = "spec.request.path";
    try {
      String method = request.path("method").asText("POST").toUpperCase(Locale.ROOT);
      String path = t.text(request.path("path").asText(""));
      field = "spec.request.headers";
      Map<String, String> headers = new LinkedHashMap<>();
      for (var it = request.path("headers").fields(); it.hasNext(); ) {
        var e = it.next();
        headers.put(e.getKey(), t.text(e.getValue().asText()));
      }
      field = "spec.request.body";
      Optional<JsonNode> body;
      if (request.has("body")) {
        body = Optional.of(t.render(request.get("body")));
      } else if (method.equals("GET")) {
        body = Optional.empty();
      } else {
        ObjectNode o = Json.object();
        vars.forEach(o::set);
        body = Optional.of(o);
      }
      return Optional.of(new Suite.Request(method, path, headers, body));
    } catch (Template.UnknownVariable e) {
      out.accept(map.at(field, e.getMessage() + inCase));
      return Optional.empty();
    }
  }

  private static Map<String, JsonNode> fields(JsonNode object) {
    Map<String, JsonNode> out = new LinkedHashMap<>();
    object.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue()));
    return out;
  }

  private List<RawCase> casesFrom(Path file, SourceMap suiteMap, Consumer<Diagnostic> out) {
    String name = file.toString();
    String lower = name.toLowerCase(Locale.ROOT);
    if (!Files.isRegularFile(file)) {
      out.accept(suiteMap.at("spec.casesFrom", "no such file: " + file));
      return List.of();
    }
    try {
      if (lower.endsWith(".csv")) {
        return csv(file, out);
      }
      byte[] bytes = Files.readAllBytes(file);
      List<ResourceReader.Document> docs = ResourceReader.readDocuments(new ResourceReader.Source(name, bytes));
      List<RawCase> cases = new ArrayList<>();
      if (docs.size() == 1 && docs.get(0).root().isObject() && docs.get(0).root().has("cases")) {
        ResourceReader.Document d = docs.get(0);
        JsonNode list = d.root().get("cases");
        for (int i = 0; i < list.size(); i++) {
          cases.add(new RawCase(list.get(i), SourceMap.index("cases", i), d.sourceMap()));
        }
        return cases;
      }
      if (docs.size() == 1 && docs.get(0).root().isArray()) {
        ResourceReader.Document d = docs.get(0);
        for (int i = 0; i < d.root().size(); i++) {
          cases.add(new RawCase(d.root().get(i), SourceMap.index("", i), d.sourceMap()));
        }
        return cases;
      }
      for (ResourceReader.Document d : docs) {
        cases.add(new RawCase(d.root(), "", d.sourceMap()));
      }
      return cases;
    } catch (InvalidResourceException e) {
      e.diagnostics().forEach(out);
      return List.of();
    } catch (IOException e) {
      out.accept(suiteMap.at("spec.casesFrom", "cannot read " + file + ": " + e.getMessage()));
      return List.of();
    }
  }

  /** CSV: a header row of variable names (a column "name" names the case), then one case per row. */
  private static List<RawCase> csv(Path file, Consumer<Diagnostic> out) throws IOException {
    if (Files.size(file) > MAX_CSV_BYTES) {
      out.accept(new Diagnostic(file.toString(), 0, 0, "", "file is " + Files.size(file)
          + " bytes; expected at most " + MAX_CSV_BYTES));
      return List.of();
    }
    CsvMapper mapper = new CsvMapper();
    CsvSchema schema = CsvSchema.emptySchema().withHeader();
    List<RawCase> cases = new ArrayList<>();
    try (MappingIterator<Map<String, String>> it = mapper.readerForMapOf(String.class).with(schema)
        .readValues(file.toFile())) {
      int row = 0;
      while (it.hasNextValue()) {
        int line = it.getCurrentLocation().getLineNr();
        Map<String, String> values = it.nextValue();
        row++;
        ObjectNode c = Json.object();
        ObjectNode vars = c.putObject("vars");
        values.forEach((k, v) -> {
          if (!k.equals("name")) {
            vars.set(k, TextNode.valueOf(v));
          }
        });
        String caseName = values.getOrDefault("name", "").isBlank() ? "row-" + row : values.get("name");
        c.put("name", caseName);
        cases.add(new RawCase(c, "", SourceMap.line(file.toString(), line)));
      }
    } catch (RuntimeException e) {
      String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
      out.accept(new Diagnostic(file.toString(), 0, 0, "", "invalid CSV: " + msg));
    }
    return cases;
  }
}

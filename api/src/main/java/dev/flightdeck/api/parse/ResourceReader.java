package dev.flightdeck.api.parse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.InvalidResourceException;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.api.resource.Metadata;
import dev.flightdeck.api.resource.Resource;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Reads resource files (YAML with several documents, JSON, JSON lines) and validates them
 * completely: syntax, envelope, the kind's JSON Schema, and rules across fields. Every problem in
 * every file is reported at once, each with file, line, column and field path.
 *
 * <p>Thread-safe; build one and share it (loading the schemas takes a moment).
 */
public final class ResourceReader {

  /** Largest file accepted: resources are configuration, not data. */
  public static final int MAX_FILE_BYTES = 4 * 1024 * 1024;
  /** Most documents accepted in one file. */
  public static final int MAX_DOCUMENTS = 1000;

  /** One input file: the name shown in messages and its bytes. */
  public record Source(String name, byte[] content) {
    /** Wraps text as a source. */
    public static Source of(String name, String text) {
      return new Source(name, text.getBytes(StandardCharsets.UTF_8));
    }
  }

  private final SchemaCheck schemas = new SchemaCheck();

  /** Reads and validates one file. @throws InvalidResourceException with every problem found */
  public List<ParsedResource> read(Source source) {
    return readAll(List.of(source));
  }

  /**
   * Reads and validates several files as one batch (so that a name defined twice across files is
   * caught). @throws InvalidResourceException with every problem found in every file
   */
  public List<ParsedResource> readAll(List<Source> sources) {
    List<Diagnostic> problems = new ArrayList<>();
    List<ParsedResource> out = new ArrayList<>();
    Map<String, Diagnostic> firstDefinition = new HashMap<>();
    for (Source s : sources) {
      for (ParsedResource p : readOne(s, problems)) {
        String key = p.resource().ref();
        SourceMap.Position pos = p.sourceMap().valuePosition("metadata.name");
        Diagnostic here = new Diagnostic(s.name(), pos.line(), pos.column(), "metadata.name", "");
        Diagnostic first = firstDefinition.putIfAbsent(key, here);
        if (first != null) {
          problems.add(p.sourceMap().at("metadata.name", key + " is defined twice in this batch (first at "
              + first.source() + ":" + first.line() + "); expected each resource once"));
        }
        out.add(p);
      }
    }
    if (!problems.isEmpty()) {
      throw new InvalidResourceException(problems);
    }
    return out;
  }

  /** A YAML or JSON document that is not a resource (a data file), with the positions of its values. */
  public record Document(com.fasterxml.jackson.databind.JsonNode root, SourceMap sourceMap) {}

  /**
   * Reads the documents of a YAML or JSON data file with positions, under the same limits as
   * resources. @throws InvalidResourceException on syntax errors, oversize input or bad UTF-8
   */
  public static List<Document> readDocuments(Source source) {
    if (source.content().length > MAX_FILE_BYTES) {
      throw new InvalidResourceException(List.of(new Diagnostic(source.name(), 0, 0, "", "file is "
          + source.content().length + " bytes; expected at most " + MAX_FILE_BYTES + " bytes")));
    }
    String text = decode(source.content()).orElseThrow(() -> new InvalidResourceException(List.of(
        new Diagnostic(source.name(), 0, 0, "", "expected UTF-8 text, got bytes that are not valid UTF-8"))));
    LocatedTreeReader.Result read = LocatedTreeReader.read(source.name(), text, isJson(source.name(), text));
    if (!read.diagnostics().isEmpty()) {
      throw new InvalidResourceException(read.diagnostics());
    }
    return read.documents().stream().map(d -> new Document(d.root(), d.map())).toList();
  }

  /** The JSON Schema of a kind, as served to editors. */
  public static String schemaText(String file) {
    try (var in = ResourceReader.class.getClassLoader().getResourceAsStream(SchemaCheck.SCHEMA_DIR + file)) {
      if (in == null) {
        throw new dev.flightdeck.api.NotFoundException("no schema named " + file);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (java.io.IOException e) {
      throw new dev.flightdeck.api.FlightdeckException("cannot read schema " + file, e);
    }
  }

  private List<ParsedResource> readOne(Source source, List<Diagnostic> problems) {
    String name = source.name();
    if (source.content().length > MAX_FILE_BYTES) {
      problems.add(new Diagnostic(name, 0, 0, "", "file is " + source.content().length
          + " bytes; expected at most " + MAX_FILE_BYTES + " bytes (resources are configuration, not data)"));
      return List.of();
    }
    Optional<String> text = decode(source.content());
    if (text.isEmpty()) {
      problems.add(new Diagnostic(name, 0, 0, "", "expected UTF-8 text, got bytes that are not valid UTF-8"));
      return List.of();
    }
    LocatedTreeReader.Result read = LocatedTreeReader.read(name, text.get(), isJson(name, text.get()));
    problems.addAll(read.diagnostics());
    if (read.documents().size() > MAX_DOCUMENTS) {
      problems.add(new Diagnostic(name, 0, 0, "", "file holds " + read.documents().size()
          + " documents; expected at most " + MAX_DOCUMENTS));
      return List.of();
    }
    List<ParsedResource> out = new ArrayList<>();
    for (LocatedTreeReader.Document doc : read.documents()) {
      List<Diagnostic> docProblems = new ArrayList<>();
      Optional<Kind> kind = envelope(doc, docProblems);
      if (kind.isPresent()) {
        docProblems.addAll(schemas.check(kind.get(), doc.root(), doc.map()));
        KindRules.check(kind.get(), doc.root(), doc.map(), docProblems::add);
      }
      docProblems.sort(Comparator.comparingInt(Diagnostic::line).thenComparingInt(Diagnostic::column));
      problems.addAll(docProblems);
      if (docProblems.isEmpty() && kind.isPresent()) {
        out.add(new ParsedResource(toResource(kind.get(), (ObjectNode) doc.root()), doc.map()));
      }
    }
    return out;
  }

  private static Optional<Kind> envelope(LocatedTreeReader.Document doc, List<Diagnostic> problems) {
    JsonNode root = doc.root();
    SourceMap map = doc.map();
    if (!root.isObject()) {
      problems.add(map.at("", "expected a resource (a mapping with apiVersion, kind, metadata, spec), got "
          + SchemaCheck.show(root)));
      return Optional.empty();
    }
    JsonNode apiVersion = root.path("apiVersion");
    if (apiVersion.isMissingNode()) {
      problems.add(map.at("apiVersion", "required field is missing; expected " + Kind.API_VERSION));
    } else if (!Kind.API_VERSION.equals(apiVersion.asText()) || !apiVersion.isTextual()) {
      problems.add(map.at("apiVersion", "expected " + Kind.API_VERSION + ", got " + SchemaCheck.show(apiVersion)));
    }
    JsonNode kindNode = root.path("kind");
    if (kindNode.isMissingNode()) {
      problems.add(map.at("kind", "required field is missing; expected one of " + String.join(", ", Kind.displayNames())));
      return Optional.empty();
    }
    Optional<Kind> kind = kindNode.isTextual() ? Kind.fromDisplayName(kindNode.asText()) : Optional.empty();
    if (kind.isEmpty()) {
      String hint = kindNode.isTextual()
          ? Suggestions.closest(kindNode.asText(), Kind.displayNames()).map(s -> "did you mean \"" + s + "\"? ").orElse("")
          : "";
      problems.add(map.at("kind", "unknown kind " + SchemaCheck.show(kindNode) + "; " + hint
          + "expected one of " + String.join(", ", Kind.displayNames())));
    }
    return kind;
  }

  private static Resource toResource(Kind kind, ObjectNode root) {
    JsonNode m = root.path("metadata");
    Metadata metadata = new Metadata(
        m.path("name").asText(),
        strings(m.path("labels")),
        strings(m.path("annotations")),
        m.has("resourceVersion") ? Long.parseLong(m.get("resourceVersion").asText()) : 0,
        Optional.empty(), Optional.empty(), 0);
    ObjectNode spec = root.path("spec") instanceof ObjectNode o ? o : Json.object();
    // status is Flightdeck's to write: whatever a user sends (e.g. from `get -o yaml`) is dropped.
    return Resource.of(kind, metadata, spec);
  }

  private static Map<String, String> strings(JsonNode node) {
    Map<String, String> out = new LinkedHashMap<>();
    node.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
    return out;
  }

  private static boolean isJson(String name, String text) {
    String lower = name.toLowerCase(Locale.ROOT);
    if (lower.endsWith(".json") || lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) {
      return true;
    }
    if (lower.endsWith(".yaml") || lower.endsWith(".yml")) {
      return false;
    }
    String t = text.stripLeading();
    return t.startsWith("{") || t.startsWith("[");
  }

  private static Optional<String> decode(byte[] bytes) {
    try {
      return Optional.of(StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(bytes)).toString());
    } catch (CharacterCodingException e) {
      return Optional.empty();
    }
  }
}

package dev.flightdeck.api.parse;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonNodePath;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.PathType;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import dev.flightdeck.api.resource.Kind;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Validates a document against its kind's JSON Schema (the files served to editors) and turns
 * each violation into a {@link Diagnostic} that says what was expected, with did-you-mean hints.
 * The schema library finds the violations; this class only words them.
 */
final class SchemaCheck {

  static final String SCHEMA_DIR = "dev/flightdeck/api/schemas/";
  private static final int MAX_SHOWN = 60;

  private final Map<Kind, JsonSchema> schemas = new EnumMap<>(Kind.class);
  private final Map<String, JsonNode> rawSchemas = new java.util.concurrent.ConcurrentHashMap<>();

  SchemaCheck() {
    // x-expected is our annotation: the words used for "expected ..." in messages.
    com.networknt.schema.JsonMetaSchema meta = com.networknt.schema.JsonMetaSchema
        .builder(com.networknt.schema.JsonMetaSchema.getV202012())
        .keyword(new com.networknt.schema.NonValidationKeyword("x-expected"))
        .build();
    JsonSchemaFactory factory = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012,
        b -> b.metaSchema(meta));
    SchemaValidatorsConfig config = SchemaValidatorsConfig.builder()
        .pathType(PathType.JSON_POINTER)
        .typeLoose(false)
        .build();
    for (Kind k : Kind.values()) {
      schemas.put(k, factory.getSchema(SchemaLocation.of("classpath:" + SCHEMA_DIR + k.schemaFile()), config));
      schemas.get(k).initializeValidators();
    }
  }

  List<Diagnostic> check(Kind kind, JsonNode document, SourceMap map) {
    Set<ValidationMessage> messages = schemas.get(kind).validate(document);
    Set<String> seen = new LinkedHashSet<>();
    List<Diagnostic> out = new ArrayList<>();
    for (ValidationMessage m : messages) {
      String top = m.getInstanceLocation().getNameCount() == 1 ? String.valueOf(m.getInstanceLocation().getElement(0)) : "";
      if (top.equals("apiVersion") || top.equals("kind")) {
        continue; // the envelope check in ResourceReader words these
      }
      Diagnostic d = describe(m, map);
      if (seen.add(d.toString())) {
        out.add(d);
      }
    }
    return out;
  }

  /** The schema object holding the violated keyword (the library reports only the keyword's value). */
  private JsonNode enclosingSchema(SchemaLocation location) {
    JsonNode node = rawSchemas.computeIfAbsent(location.getAbsoluteIri().toString(), SchemaCheck::loadRaw);
    JsonNodePath fragment = location.getFragment();
    for (int i = 0; i < fragment.getNameCount() - 1; i++) {
      Object e = fragment.getElement(i);
      node = e instanceof Integer idx ? node.path(idx) : node.path(String.valueOf(e));
    }
    return node;
  }

  private static JsonNode loadRaw(String iri) {
    String file = iri.substring(iri.lastIndexOf('/') + 1);
    return dev.flightdeck.api.resource.Json.read(ResourceReader.schemaText(file));
  }

  private Diagnostic describe(ValidationMessage m, SourceMap map) {
    String path = toPath(m.getInstanceLocation());
    JsonNode schema = enclosingSchema(m.getSchemaLocation());
    JsonNode instance = m.getInstanceNode();
    String keyword = m.getType();
    return switch (keyword) {
      case "required" -> map.at(SourceMap.field(path, m.getProperty()), "required field is missing");
      case "additionalProperties", "unevaluatedProperties" -> unknownField(path, m.getProperty(), schema, map);
      case "propertyNames" -> {
        String key = m.getProperty() != null ? m.getProperty() : String.valueOf(m.getArguments()[0]);
        JsonNode names = schema.path("propertyNames");
        yield map.atKey(SourceMap.field(path, key),
            "expected " + expected(names.isMissingNode() ? schema : names) + " as key, got \"" + key + "\"");
      }
      case "const" -> map.at(path, "expected " + show(schema.path("const")) + ", got " + show(instance));
      case "enum" -> {
        List<String> allowed = new ArrayList<>();
        schema.path("enum").forEach(v -> allowed.add(v.asText()));
        String hint = instance != null && instance.isTextual()
            ? Suggestions.closest(instance.asText(), allowed).map(s -> "; did you mean \"" + s + "\"?").orElse("")
            : "";
        yield map.at(path, "expected one of " + String.join(", ", allowed) + ", got " + show(instance) + hint);
      }
      case "minItems" -> map.at(path, "expected at least " + schema.path("minItems").asInt()
          + " item(s), got " + instance.size());
      case "maxItems" -> map.at(path, "expected at most " + schema.path("maxItems").asInt()
          + " items, got " + instance.size());
      case "minProperties", "maxProperties" -> map.at(path, "expected " + expected(schema)
          + ", got " + (instance.isEmpty() ? "none" : fieldNames(instance)));
      case "minLength", "maxLength", "type", "minimum", "maximum", "exclusiveMinimum",
           "exclusiveMaximum", "pattern", "format", "multipleOf" ->
          map.at(path, "expected " + expected(schema) + ", got " + show(instance));
      default -> map.at(path, stripPath(m.getMessage()));
    };
  }

  private static Diagnostic unknownField(String path, String field, JsonNode schema, SourceMap map) {
    List<String> known = new ArrayList<>();
    schema.path("properties").fieldNames().forEachRemaining(known::add);
    String hint = Suggestions.closest(field, known).map(s -> "did you mean \"" + s + "\"? ").orElse("");
    String list = known.isEmpty() ? "no fields are allowed here" : "expected one of " + String.join(", ", known);
    return map.atKey(SourceMap.field(path, field), "unknown field; " + hint + list);
  }

  /** What a schema accepts, in words: "an integer 0..100", "a duration such as 30s". */
  static String expected(JsonNode schema) {
    if (schema.has("x-expected")) {
      return schema.get("x-expected").asText();
    }
    if (schema.has("enum")) {
      List<String> v = new ArrayList<>();
      schema.get("enum").forEach(e -> v.add(e.asText()));
      return "one of " + String.join(", ", v);
    }
    if (schema.has("const")) {
      return show(schema.get("const"));
    }
    JsonNode type = schema.path("type");
    if (type.isArray()) {
      List<String> parts = new ArrayList<>();
      type.forEach(t -> parts.add(article(t.asText())));
      return String.join(" or ", parts);
    }
    String t = type.asText("");
    return switch (t) {
      case "integer", "number" -> article(t) + range(schema);
      case "string" -> {
        String s = "a string";
        if (schema.has("minLength") && schema.path("minLength").asInt() > 0 && schema.has("maxLength")) {
          s += " of " + schema.get("minLength").asInt() + " to " + schema.get("maxLength").asInt() + " characters";
        } else if (schema.has("maxLength")) {
          s += " of at most " + schema.get("maxLength").asInt() + " characters";
        } else if (schema.path("minLength").asInt() > 0) {
          s = "a non-empty string";
        }
        if (schema.has("pattern")) {
          s += " matching " + schema.get("pattern").asText();
        }
        yield s;
      }
      case "" -> "a valid value";
      default -> article(t);
    };
  }

  private static String range(JsonNode schema) {
    boolean hasMin = schema.has("minimum");
    boolean hasMax = schema.has("maximum");
    if (hasMin && hasMax) {
      return " " + schema.get("minimum").asText() + ".." + schema.get("maximum").asText();
    }
    if (hasMin) {
      return " >= " + schema.get("minimum").asText();
    }
    if (schema.has("exclusiveMinimum")) {
      return " > " + schema.get("exclusiveMinimum").asText()
          + (hasMax ? " and <= " + schema.get("maximum").asText() : "");
    }
    if (hasMax) {
      return " <= " + schema.get("maximum").asText();
    }
    return "";
  }

  private static String article(String type) {
    return switch (type) {
      case "integer" -> "an integer";
      case "number" -> "a number";
      case "string" -> "a string";
      case "boolean" -> "true or false";
      case "object" -> "a mapping of fields";
      case "array" -> "a list";
      case "null" -> "null";
      default -> type;
    };
  }

  /** A value as the user would recognise it: strings quoted, big things summarised. */
  static String show(JsonNode v) {
    if (v == null || v.isMissingNode()) {
      return "nothing";
    }
    if (v.isTextual()) {
      String s = v.asText();
      if (s.length() > MAX_SHOWN) {
        s = s.substring(0, MAX_SHOWN) + "...";
      }
      return "\"" + s.replace("\n", "\\n") + "\"";
    }
    if (v.isObject()) {
      return v.isEmpty() ? "an empty mapping" : "a mapping (" + fieldNames(v) + ")";
    }
    if (v.isArray()) {
      return "a list of " + v.size() + " item" + (v.size() == 1 ? "" : "s");
    }
    return v.toString();
  }

  private static String fieldNames(JsonNode v) {
    List<String> names = new ArrayList<>();
    v.fieldNames().forEachRemaining(names::add);
    return names.stream().collect(Collectors.joining(", "));
  }

  private static String toPath(JsonNodePath p) {
    String path = "";
    for (int i = 0; i < p.getNameCount(); i++) {
      Object e = p.getElement(i);
      path = e instanceof Integer idx ? SourceMap.index(path, idx) : SourceMap.field(path, String.valueOf(e));
    }
    return path;
  }

  private static String stripPath(String message) {
    int colon = message.indexOf(": ");
    return colon > 0 && message.startsWith("/") ? message.substring(colon + 2) : message;
  }
}

package dev.flightdeck.api.parse;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.flightdeck.api.resource.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.yaml.snakeyaml.LoaderOptions;

/**
 * Reads YAML (several documents) or JSON (one value, an array, or JSON lines) into trees,
 * remembering the position of every value and field name, so that later checks can name the
 * exact line and column. Syntax errors and duplicate keys become diagnostics, not exceptions.
 */
final class LocatedTreeReader {

  /** One document read from a file. */
  record Document(JsonNode root, SourceMap map, int index) {}

  /** What a file held: its documents and the syntax problems found. */
  record Result(List<Document> documents, List<Diagnostic> diagnostics) {}

  private static final JsonFactory JSON_FACTORY = JsonFactory.builder()
      .streamReadConstraints(Json.READ_LIMITS).build();
  private static final YAMLFactory YAML_FACTORY;

  static {
    LoaderOptions options = new LoaderOptions();
    options.setMaxAliasesForCollections(20);
    options.setAllowDuplicateKeys(true); // reported by us, with both positions
    options.setNestingDepthLimit(64);
    options.setCodePointLimit(ResourceReader.MAX_FILE_BYTES);
    YAML_FACTORY = YAMLFactory.builder().loaderOptions(options)
        .streamReadConstraints(Json.READ_LIMITS).build();
  }

  private final JsonNodeFactory nodes = JsonNodeFactory.withExactBigDecimals(true);
  private final String source;
  private final List<Diagnostic> diagnostics = new ArrayList<>();
  private SourceMap map;

  private LocatedTreeReader(String source) {
    this.source = source;
  }

  static Result read(String source, String text, boolean json) {
    LocatedTreeReader r = new LocatedTreeReader(source);
    List<Document> docs = r.readAll(text, json);
    return new Result(docs, List.copyOf(r.diagnostics));
  }

  private List<Document> readAll(String text, boolean json) {
    List<Document> docs = new ArrayList<>();
    JsonFactory factory = json ? JSON_FACTORY : YAML_FACTORY;
    try (JsonParser p = factory.createParser(text)) {
      int index = 0;
      while (p.nextToken() != null) {
        map = new SourceMap(source);
        JsonNode root = value(p, "");
        if (json && root.isArray() && index == 0 && docs.isEmpty()) {
          // A JSON array at top level is a list of resources; positions are per element.
          int i = 0;
          for (JsonNode element : root) {
            docs.add(new Document(element, shifted(map, i), i));
            i++;
          }
          index = i;
          continue;
        }
        if (!root.isNull()) {
          docs.add(new Document(root, map, index));
        }
        index++;
      }
    } catch (JsonProcessingException e) {
      if (e.getCause() instanceof org.yaml.snakeyaml.error.MarkedYAMLException y && y.getProblemMark() != null) {
        String what = (y.getContext() == null ? "" : y.getContext() + ": ") + y.getProblem();
        diagnostics.add(new Diagnostic(source, y.getProblemMark().getLine() + 1,
            y.getProblemMark().getColumn() + 1, "", "invalid YAML: " + firstLine(what)));
        return docs;
      }
      JsonLocation loc = e.getLocation();
      int line = loc == null ? 0 : Math.max(loc.getLineNr(), 0);
      int col = loc == null ? 0 : Math.max(loc.getColumnNr(), 0);
      diagnostics.add(new Diagnostic(source, line, col, "",
          (json ? "invalid JSON: " : "invalid YAML: ") + firstLine(e.getOriginalMessage())));
    } catch (IOException e) {
      diagnostics.add(new Diagnostic(source, 0, 0, "", "cannot read: " + e.getMessage()));
    }
    return docs;
  }

  /** The positions of element {@code i} of a top-level JSON array, re-rooted at "". */
  private static SourceMap shifted(SourceMap whole, int i) {
    SourceMap m = new SourceMap(whole.source());
    String prefix = "[" + i + "]";
    whole.copyUnder(prefix, m);
    return m;
  }

  private JsonNode value(JsonParser p, String path) throws IOException {
    JsonToken t = p.currentToken();
    map.value(path, position(p.currentTokenLocation()));
    return switch (t) {
      case START_OBJECT -> object(p, path);
      case START_ARRAY -> array(p, path);
      case VALUE_STRING -> nodes.textNode(p.getText());
      case VALUE_NUMBER_INT -> nodes.numberNode(p.getBigIntegerValue());
      case VALUE_NUMBER_FLOAT -> nodes.numberNode(p.getDecimalValue());
      case VALUE_TRUE -> nodes.booleanNode(true);
      case VALUE_FALSE -> nodes.booleanNode(false);
      case VALUE_NULL -> nodes.nullNode();
      case VALUE_EMBEDDED_OBJECT -> nodes.textNode(p.getText());
      default -> throw new JsonProcessingException("unexpected " + t, p.currentTokenLocation()) {};
    };
  }

  private ObjectNode object(JsonParser p, String path) throws IOException {
    ObjectNode o = nodes.objectNode();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      String child = SourceMap.field(path, name);
      SourceMap.Position keyPos = position(p.currentTokenLocation());
      if (o.has(name)) {
        SourceMap.Position first = map.keyPosition(child);
        diagnostics.add(new Diagnostic(source, keyPos.line(), keyPos.column(), child,
            "duplicate field \"" + name + "\" (first at line " + first.line() + ")"));
      } else {
        map.key(child, keyPos);
      }
      p.nextToken();
      SourceMap saved = null;
      if (o.has(name)) {
        saved = map; // keep the first occurrence's positions
        map = new SourceMap(source);
      }
      JsonNode v = value(p, child);
      if (saved != null) {
        map = saved;
      } else {
        o.set(name, v);
      }
    }
    return o;
  }

  private ArrayNode array(JsonParser p, String path) throws IOException {
    ArrayNode a = nodes.arrayNode();
    int i = 0;
    while (p.nextToken() != JsonToken.END_ARRAY) {
      a.add(value(p, SourceMap.index(path, i++)));
    }
    return a;
  }

  private static SourceMap.Position position(JsonLocation loc) {
    return new SourceMap.Position(Math.max(loc.getLineNr(), 0), Math.max(loc.getColumnNr(), 0));
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "malformed input";
    }
    int nl = s.indexOf('\n');
    return (nl < 0 ? s : s.substring(0, nl)).strip();
  }
}

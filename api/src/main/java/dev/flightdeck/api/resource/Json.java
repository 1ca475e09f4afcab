package dev.flightdeck.api.resource;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.flightdeck.api.FlightdeckException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** Shared JSON and YAML mappers, canonical JSON, and content digests. */
public final class Json {

  /** Limits applied to every document Flightdeck reads: untrusted input must not exhaust memory. */
  public static final StreamReadConstraints READ_LIMITS = StreamReadConstraints.builder()
      .maxNestingDepth(64)
      .maxStringLength(4 * 1024 * 1024)
      .maxNumberLength(100)
      .maxNameLength(1024)
      .build();

  private static final ObjectMapper JSON = JsonMapper.builder()
      .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
      .build();

  private static final ObjectMapper YAML = YAMLMapper.builder(YAMLFactory.builder()
          .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
          .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
          .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
          .enable(YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR)
          .disable(YAMLGenerator.Feature.SPLIT_LINES)
          .build())
      .build();

  static {
    JSON.getFactory().setStreamReadConstraints(READ_LIMITS);
  }

  private Json() {}

  /** The shared JSON mapper (thread-safe; do not reconfigure). */
  public static ObjectMapper mapper() {
    return JSON;
  }

  /** A fresh empty object node. */
  public static ObjectNode object() {
    return JsonNodeFactory.instance.objectNode();
  }

  /** Compact JSON text of a node. */
  public static String write(JsonNode node) {
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new FlightdeckException("cannot write JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** Indented JSON text of a node. */
  public static String writePretty(JsonNode node) {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new FlightdeckException("cannot write JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** YAML text of a node. */
  public static String writeYaml(JsonNode node) {
    try {
      return YAML.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new FlightdeckException("cannot write YAML: " + e.getOriginalMessage(), e);
    }
  }

  /** Parses trusted JSON text (for example from the store) into a tree. */
  public static JsonNode read(String json) {
    try {
      return JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new FlightdeckException("stored JSON is malformed: " + e.getOriginalMessage(), e);
    }
  }

  /** A copy of the node with every object's fields sorted by name (arrays keep their order). */
  public static JsonNode canonical(JsonNode node) {
    if (node.isObject()) {
      List<Map.Entry<String, JsonNode>> fields = new ArrayList<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        fields.add(it.next());
      }
      fields.sort(Map.Entry.comparingByKey());
      ObjectNode out = object();
      for (Map.Entry<String, JsonNode> f : fields) {
        out.set(f.getKey(), canonical(f.getValue()));
      }
      return out;
    }
    if (node.isArray()) {
      ArrayNode out = JsonNodeFactory.instance.arrayNode();
      node.forEach(e -> out.add(canonical(e)));
      return out;
    }
    return node;
  }

  /** {@code sha256:<hex>} of the canonical JSON of a node: equal content, equal digest. */
  public static String digest(JsonNode node) {
    return "sha256:" + sha256Hex(write(canonical(node)).getBytes(StandardCharsets.UTF_8));
  }

  /** Lowercase hex SHA-256 of bytes. */
  public static String sha256Hex(byte[] bytes) {
    return HexFormat.of().formatHex(sha256(bytes));
  }

  /** SHA-256 of bytes. */
  public static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }
}

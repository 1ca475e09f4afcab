package dev.flightdeck.gateway.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Cache keys of chat.completions requests. The key covers every field of the request but a few
 * that cannot change the answer, and the tenant; the partition is the same without the text of
 * the final user message, so a semantic match can differ from a cached request in that text and
 * nowhere else. A peer's semantic cache (LiteLLM issue 12234) compared prompts across everything
 * it had stored and answered unrelated queries; here the model, the parameters, the tools, the
 * system prompt and the whole conversation before the last message must be identical first.
 */
final class RequestKeys {

  /** Fields that cannot change the answer: delivery, caller tags, upstream storage and caching. */
  static final Set<String> IGNORED = Set.of("stream", "stream_options", "user", "metadata", "store",
      "safety_identifier", "prompt_cache_key");

  /** Stands for the final user message's text in the partition. */
  private static final String LAST_USER_TEXT = "\u0000last user text";

  private RequestKeys() {}

  static Optional<ModelCache.Key> key(String agent, CacheSettings s, ObjectNode request) {
    if (!s.enabled() || agent == null || agent.isBlank()) {
      return Optional.empty();
    }
    JsonNode messages = request.path("messages");
    if (!request.path("model").isTextual() || !messages.isArray() || messages.isEmpty()) {
      return Optional.empty();
    }
    JsonNode n = request.get("n");
    if (n != null && !n.isNull() && !(n.isNumber() && n.asDouble() == 1)) {
      return Optional.empty(); // several samples asked for: the caller wants variety, not a replay
    }
    if (request.path("store").asBoolean(false)) {
      return Optional.empty(); // the upstream was asked to keep this completion; a hit would skip it
    }
    String tenant = s.shareGroup() == null ? "agent:" + agent : "group:" + s.shareGroup();

    ObjectNode keyed = JsonNodeFactory.instance.objectNode();
    request.fields().forEachRemaining(f -> {
      if (!IGNORED.contains(f.getKey())) {
        keyed.set(f.getKey(), f.getValue());
      }
    });
    String exact = hash("exact", tenant, keyed);

    JsonNode last = messages.get(messages.size() - 1);
    Optional<String> text = "user".equals(last.path("role").asText()) ? text(last.get("content")) : Optional.empty();
    if (text.isEmpty()) {
      return Optional.of(new ModelCache.Key(tenant, exact, exact, ""));
    }
    ArrayNode withoutText = ((ArrayNode) messages).deepCopy();
    ((ObjectNode) withoutText.get(withoutText.size() - 1)).put("content", LAST_USER_TEXT);
    ObjectNode partitioned = keyed.deepCopy();
    partitioned.set("messages", withoutText);
    return Optional.of(new ModelCache.Key(tenant, hash("partition", tenant, partitioned), exact, text.get()));
  }

  /** The text of a message's content: a string, or an array of text parts only. */
  private static Optional<String> text(JsonNode content) {
    if (content == null) {
      return Optional.empty();
    }
    if (content.isTextual()) {
      return Optional.of(content.asText());
    }
    if (!content.isArray() || content.isEmpty()) {
      return Optional.empty();
    }
    StringBuilder b = new StringBuilder();
    for (JsonNode part : content) {
      if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual() || part.size() != 2) {
        return Optional.empty(); // images, audio, files: not comparable by their words
      }
      b.append(b.isEmpty() ? "" : "\n").append(part.get("text").asText());
    }
    return Optional.of(b.toString());
  }

  private static String hash(String kind, String tenant, JsonNode request) {
    String doc = kind + "\n" + tenant + "\n" + Json.write(canonical(request));
    return Json.sha256Hex(doc.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * The node with object fields sorted by name and numbers written one way (0, 0.0 and 0e0 are
   * the same temperature), so that equal requests hash equally however they were written.
   */
  static JsonNode canonical(JsonNode node) {
    if (node.isObject()) {
      List<Map.Entry<String, JsonNode>> fields = new ArrayList<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        fields.add(it.next());
      }
      fields.sort(Map.Entry.comparingByKey());
      ObjectNode out = JsonNodeFactory.instance.objectNode();
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
    if (node.isNumber()) {
      return DecimalNode.valueOf(node.decimalValue().stripTrailingZeros());
    }
    return node;
  }
}

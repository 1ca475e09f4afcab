package dev.flightdeck.gateway.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** What the model gateway reads from an OpenAI chat or embeddings request, and writes back. */
final class Models {

  private Models() {}

  /** Output tokens the call may produce: its max_completion_tokens or max_tokens, else the provider's default. */
  static long maxOutputTokens(ObjectNode body, long fallback) {
    for (String f : new String[] {"max_completion_tokens", "max_tokens"}) {
      JsonNode n = body.get(f);
      if (n != null && !n.isNull()) {
        if (!n.canConvertToLong() || !n.isIntegralNumber() || n.asLong() < 1) {
          throw ModelError.badRequest("invalid_parameter", "\"" + f + "\" must be a positive integer, got " + n);
        }
        return n.asLong();
      }
    }
    return fallback;
  }

  /**
   * An upper bound on the prompt's tokens: a token is at least one byte of text, so the body's
   * size bounds the text; each image part may cost up to {@code imageTokens} more.
   */
  static long promptTokenBound(ObjectNode body, int bodyBytes, int imageTokens) {
    long images = 0;
    for (JsonNode m : body.path("messages")) {
      for (JsonNode part : m.path("content")) {
        if ("image_url".equals(part.path("type").asText())) {
          images++;
        }
      }
    }
    return bodyBytes + images * imageTokens;
  }

  /**
   * The call as the runaway detector compares calls: the model, the tools, the system prompt and
   * the last message, without the ids that differ between otherwise identical calls. An agent
   * stuck in a loop sends the same last message (the same tool result, say) again and again.
   */
  static String fingerprint(ObjectNode body) {
    ObjectNode f = Json.object();
    f.set("model", body.path("model"));
    f.set("tools", body.path("tools"));
    ArrayNode system = f.putArray("system");
    JsonNode messages = body.path("messages");
    for (JsonNode m : messages) {
      String role = m.path("role").asText();
      if (role.equals("system") || role.equals("developer")) {
        system.add(m.path("content"));
      }
    }
    if (messages.size() > 0) {
      JsonNode last = messages.get(messages.size() - 1).deepCopy();
      if (last instanceof ObjectNode o) {
        o.remove("tool_call_id");
        for (JsonNode call : o.path("tool_calls")) {
          if (call instanceof ObjectNode c) {
            c.remove("id");
          }
        }
      }
      f.set("last", last);
    }
    return Json.digest(f);
  }

  /**
   * A chat.completion answer as the stream of chunks a streaming call would have received: one
   * chunk with the message, one with the finish reason, the usage if asked, and {@code [DONE]}.
   */
  static byte[] completionAsStream(byte[] completion, boolean includeUsage) {
    JsonNode c = Json.read(new String(completion, StandardCharsets.UTF_8));
    ByteArrayOutputStream out = new ByteArrayOutputStream(completion.length + 512);
    JsonNode choice = c.path("choices").path(0);
    ObjectNode first = chunk(c);
    ObjectNode delta = first.putArray("choices").addObject().put("index", 0).putObject("delta");
    delta.put("role", "assistant");
    JsonNode message = choice.path("message");
    if (message.hasNonNull("content")) {
      delta.set("content", message.get("content"));
    }
    if (message.path("tool_calls").isArray()) {
      ArrayNode calls = delta.putArray("tool_calls");
      int i = 0;
      for (JsonNode tc : message.path("tool_calls")) {
        ObjectNode t = ((ObjectNode) tc.deepCopy()).put("index", i++);
        calls.add(t);
      }
    }
    ((ObjectNode) first.path("choices").path(0)).putNull("finish_reason");
    event(out, first);
    ObjectNode end = chunk(c);
    end.putArray("choices").addObject().put("index", 0).put("finish_reason",
        choice.path("finish_reason").asText("stop")).putObject("delta");
    event(out, end);
    if (includeUsage && c.has("usage")) {
      ObjectNode usage = chunk(c);
      usage.putArray("choices");
      usage.set("usage", c.get("usage"));
      event(out, usage);
    }
    out.writeBytes("data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII));
    return out.toByteArray();
  }

  private static ObjectNode chunk(JsonNode c) {
    ObjectNode o = Json.object();
    o.set("id", c.path("id"));
    o.put("object", "chat.completion.chunk");
    o.set("created", c.path("created"));
    o.set("model", c.path("model"));
    return o;
  }

  private static void event(ByteArrayOutputStream out, JsonNode chunk) {
    out.writeBytes(("data: " + Json.write(chunk) + "\n\n").getBytes(StandardCharsets.UTF_8));
  }
}

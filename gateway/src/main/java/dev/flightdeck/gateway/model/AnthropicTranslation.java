package dev.flightdeck.gateway.model;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.gateway.telemetry.Usage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Translates OpenAI Chat Completions to Anthropic Messages and back, for upstreams of type
 * {@code anthropic}: the request one way; the answer, errors and the event stream the other.
 *
 * <p>Pure code: no I/O, no logging. It guarantees that a request either means the same to
 * Anthropic or fails with an {@link UntranslatableException} naming the field; only fields that
 * do not change what the model is asked for are dropped. A stream is translated event by event
 * as bytes arrive, holding at most one unfinished event. It must never buffer a whole stream,
 * and never answer a provider's unexpected document with a NullPointerException.
 */
public final class AnthropicTranslation {

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /** Fields that ask for something Messages cannot give; each is refused rather than dropped. */
  private static final Map<String, String> REFUSED = Map.of(
      "functions", "the legacy functions field is not supported by Anthropic; use tools",
      "function_call", "the legacy function_call field is not supported by Anthropic; use tool_choice",
      "audio", "audio output is not supported by Anthropic",
      "web_search_options", "OpenAI's web search is not supported by Anthropic");

  /** Anthropic rejects a {@code metadata.user_id} that looks like an email address or phone number. */
  private static final Pattern PERSONAL_ID = Pattern.compile(
      "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}|\\+?[\\d\\s()-]{7,}");

  private static final Pattern DATA_URL = Pattern.compile("data:([\\w.+-]+/[\\w.+-]+);base64,(.*)", Pattern.DOTALL);

  /** The largest event a stream may hold while waiting for its end, against a provider that never ends a line. */
  private static final int MAX_EVENT_BYTES = 16 * 1024 * 1024;

  private AnthropicTranslation() {}

  /**
   * Thrown for a request that cannot be expressed in Messages (n > 1, audio parts, ...); the
   * message says what and where, e.g. {@code messages[2].content[0]: type input_audio is not
   * supported by Anthropic}.
   */
  public static final class UntranslatableException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    UntranslatableException(String message) {
      super(message);
    }
  }

  // ---------------------------------------------------------------- request

  /**
   * An OpenAI {@code chat.completions} request (already parsed) as an Anthropic
   * {@code /v1/messages} request body (UTF-8 JSON), for {@code upstreamModel}. {@code max_tokens}
   * is {@code max_completion_tokens}, else {@code max_tokens}, else {@code defaultMaxTokens}
   * (Messages requires it).
   */
  public static byte[] request(ObjectNode chat, String upstreamModel, int defaultMaxTokens) {
    Objects.requireNonNull(chat, "chat");
    Objects.requireNonNull(upstreamModel, "upstreamModel");
    for (Map.Entry<String, String> refused : REFUSED.entrySet()) {
      if (present(chat.path(refused.getKey()))) {
        throw new UntranslatableException(refused.getKey() + ": " + refused.getValue());
      }
    }
    JsonNode n = chat.path("n");
    if (present(n) && !(n.isIntegralNumber() && n.asLong() == 1)) {
      throw new UntranslatableException("n: " + n + " choices were asked for; Anthropic answers with one");
    }
    if (chat.path("logprobs").asBoolean(false)) {
      throw new UntranslatableException("logprobs: log probabilities are not supported by Anthropic");
    }
    JsonNode format = chat.path("response_format").path("type");
    if (format.isTextual() && !format.asText().equals("text") && !format.asText().equals("json_object")) {
      throw new UntranslatableException("response_format.type: " + format.asText() + " is not supported by Anthropic");
    }
    for (JsonNode modality : chat.path("modalities")) {
      if (!modality.asText().equals("text")) {
        throw new UntranslatableException("modalities: " + modality.asText() + " output is not supported by Anthropic");
      }
    }

    ObjectNode out = NODES.objectNode();
    out.put("model", upstreamModel);
    out.put("max_tokens", maxTokens(chat, defaultMaxTokens));
    List<String> system = new ArrayList<>();
    ArrayNode messages = messages(chat.path("messages"), system);
    if (!system.isEmpty()) {
      out.put("system", String.join("\n\n", system));
    }
    out.set("messages", messages);
    boolean withTools = tools(chat.path("tools"), out);
    if (withTools) {
      toolChoice(chat, out);
    }
    number(chat, "temperature", out);
    number(chat, "top_p", out);
    JsonNode stop = chat.path("stop");
    if (stop.isTextual()) {
      out.putArray("stop_sequences").add(stop.asText());
    } else if (stop.isArray()) {
      ArrayNode sequences = out.putArray("stop_sequences");
      for (int i = 0; i < stop.size(); i++) {
        if (!stop.get(i).isTextual()) {
          throw new UntranslatableException("stop[" + i + "]: expected a string, got " + stop.get(i));
        }
        sequences.add(stop.get(i).asText());
      }
    } else if (present(stop)) {
      throw new UntranslatableException("stop: expected a string or an array of strings, got " + stop);
    }
    if (chat.path("stream").asBoolean(false)) {
      out.put("stream", true);
    }
    JsonNode user = chat.path("user");
    if (user.isTextual() && !user.asText().isBlank() && !PERSONAL_ID.matcher(user.asText()).matches()) {
      out.putObject("metadata").put("user_id", user.asText());
    }
    return write(out);
  }

  private static boolean present(JsonNode n) {
    return !n.isMissingNode() && !n.isNull();
  }

  private static int maxTokens(ObjectNode chat, int defaultMaxTokens) {
    for (String field : List.of("max_completion_tokens", "max_tokens")) {
      JsonNode v = chat.path(field);
      if (present(v)) {
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 1) {
          throw new UntranslatableException(field + ": expected a positive integer, got " + v);
        }
        return v.asInt();
      }
    }
    if (defaultMaxTokens < 1) {
      throw new IllegalArgumentException("defaultMaxTokens must be positive, got " + defaultMaxTokens);
    }
    return defaultMaxTokens;
  }

  private static void number(ObjectNode chat, String field, ObjectNode out) {
    JsonNode v = chat.path(field);
    if (v.isNumber()) {
      out.set(field, v);
    } else if (present(v)) {
      throw new UntranslatableException(field + ": expected a number, got " + v);
    }
  }

  /** Messages, with system and developer texts set aside into {@code system}. */
  private static ArrayNode messages(JsonNode messages, List<String> system) {
    if (!messages.isArray() || messages.isEmpty()) {
      throw new UntranslatableException("messages: expected a non-empty array");
    }
    ArrayNode out = NODES.arrayNode();
    for (int i = 0; i < messages.size(); i++) {
      JsonNode m = messages.get(i);
      String at = "messages[" + i + "]";
      if (!m.isObject()) {
        throw new UntranslatableException(at + ": expected an object with role and content");
      }
      String role = m.path("role").asText("");
      switch (role) {
        case "system", "developer" -> {
          String text = systemText(m.path("content"), at + ".content");
          if (!text.isEmpty()) {
            system.add(text);
          }
        }
        case "user" -> append(out, "user", userContent(m.path("content"), at + ".content"));
        case "assistant" -> append(out, "assistant", assistantContent(m, at));
        case "tool" -> append(out, "user", toolResult(m, at));
        case "" -> throw new UntranslatableException(at + ".role: missing");
        default -> throw new UntranslatableException(at + ".role: role " + role + " is not supported by Anthropic");
      }
    }
    return out;
  }

  /** Adds blocks as a message, merged into the previous one when it has the same role (Messages alternates roles). */
  private static void append(ArrayNode messages, String role, ArrayNode blocks) {
    if (blocks.isEmpty()) {
      return;
    }
    JsonNode last = messages.isEmpty() ? null : messages.get(messages.size() - 1);
    if (last != null && last.path("role").asText().equals(role)) {
      ((ArrayNode) last.get("content")).addAll(blocks);
    } else {
      messages.addObject().put("role", role).set("content", blocks);
    }
  }

  private static String systemText(JsonNode content, String at) {
    if (content.isTextual()) {
      return content.asText();
    }
    if (!content.isArray()) {
      throw new UntranslatableException(at + ": expected a string or an array of text parts");
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < content.size(); i++) {
      JsonNode part = content.get(i);
      if (!part.path("type").asText().equals("text") || !part.path("text").isTextual()) {
        throw new UntranslatableException(at + "[" + i + "]: a system message may only hold text parts");
      }
      sb.append(sb.isEmpty() ? "" : "\n").append(part.path("text").asText());
    }
    return sb.toString();
  }

  private static ArrayNode userContent(JsonNode content, String at) {
    ArrayNode blocks = NODES.arrayNode();
    if (content.isTextual()) {
      text(blocks, content.asText(), null);
      return blocks;
    }
    if (!content.isArray()) {
      throw new UntranslatableException(at + ": expected a string or an array of content parts");
    }
    for (int i = 0; i < content.size(); i++) {
      JsonNode part = content.get(i);
      String where = at + "[" + i + "]";
      String type = part.path("type").asText("");
      switch (type) {
        case "text" -> text(blocks, textOf(part, where), part.get("cache_control"));
        case "image_url" -> blocks.add(image(part.path("image_url"), where + ".image_url"));
        case "file" -> blocks.add(document(part.path("file"), where + ".file"));
        case "" -> throw new UntranslatableException(where + ".type: missing");
        default -> throw new UntranslatableException(where + ": type " + type + " is not supported by Anthropic");
      }
    }
    return blocks;
  }

  private static String textOf(JsonNode part, String at) {
    if (!part.path("text").isTextual()) {
      throw new UntranslatableException(at + ".text: expected a string");
    }
    return part.path("text").asText();
  }

  /** Adds a text block; Messages rejects empty ones, so an empty text adds nothing. */
  private static void text(ArrayNode blocks, String text, JsonNode cacheControl) {
    if (text.isEmpty()) {
      return;
    }
    ObjectNode block = blocks.addObject().put("type", "text").put("text", text);
    if (cacheControl != null && cacheControl.isObject()) {
      block.set("cache_control", cacheControl);
    }
  }

  private static ObjectNode image(JsonNode imageUrl, String at) {
    JsonNode urlNode = imageUrl.isTextual() ? imageUrl : imageUrl.path("url");
    if (!urlNode.isTextual() || urlNode.asText().isEmpty()) {
      throw new UntranslatableException(at + ".url: expected a data: or http(s) URL");
    }
    String url = urlNode.asText();
    ObjectNode block = NODES.objectNode().put("type", "image");
    var data = DATA_URL.matcher(url);
    if (data.matches()) {
      block.putObject("source").put("type", "base64").put("media_type", data.group(1)).put("data", data.group(2));
    } else if (url.startsWith("https://") || url.startsWith("http://")) {
      block.putObject("source").put("type", "url").put("url", url);
    } else {
      throw new UntranslatableException(at + ".url: only base64 data: URLs and http(s) URLs are supported by Anthropic, got "
          + url.substring(0, Math.min(url.length(), 40)) + (url.length() > 40 ? "..." : ""));
    }
    return block;
  }

  /** A file part: Messages takes an inline PDF as a document block; file ids live in OpenAI's storage. */
  private static ObjectNode document(JsonNode file, String at) {
    var data = DATA_URL.matcher(file.path("file_data").asText(""));
    if (!data.matches() || !data.group(1).equals("application/pdf")) {
      throw new UntranslatableException(at + ": only inline PDF file_data (data:application/pdf;base64,...) is supported by Anthropic");
    }
    ObjectNode block = NODES.objectNode().put("type", "document");
    block.putObject("source").put("type", "base64").put("media_type", "application/pdf").put("data", data.group(2));
    return block;
  }

  private static ArrayNode assistantContent(JsonNode m, String at) {
    if (present(m.path("function_call"))) {
      throw new UntranslatableException(at + ".function_call: the legacy function_call is not supported by Anthropic; use tool_calls");
    }
    if (present(m.path("audio"))) {
      throw new UntranslatableException(at + ".audio: audio is not supported by Anthropic");
    }
    ArrayNode blocks = NODES.arrayNode();
    JsonNode content = m.path("content");
    if (content.isTextual()) {
      text(blocks, content.asText(), null);
    } else if (content.isArray()) {
      for (int i = 0; i < content.size(); i++) {
        JsonNode part = content.get(i);
        String where = at + ".content[" + i + "]";
        switch (part.path("type").asText("")) {
          case "text" -> text(blocks, textOf(part, where), part.get("cache_control"));
          case "refusal" -> text(blocks, part.path("refusal").asText(""), null);
          default -> throw new UntranslatableException(where + ": type " + part.path("type").asText("(missing)")
              + " is not supported by Anthropic in an assistant message");
        }
      }
    } else if (present(content)) {
      throw new UntranslatableException(at + ".content: expected a string, an array of parts or null");
    }
    JsonNode calls = m.path("tool_calls");
    if (present(calls) && !calls.isArray()) {
      throw new UntranslatableException(at + ".tool_calls: expected an array");
    }
    for (int i = 0; i < calls.size(); i++) {
      JsonNode call = calls.get(i);
      String where = at + ".tool_calls[" + i + "]";
      String type = call.path("type").asText("function");
      if (!type.equals("function")) {
        throw new UntranslatableException(where + ": type " + type + " is not supported by Anthropic");
      }
      String id = required(call.path("id"), where + ".id");
      String name = required(call.path("function").path("name"), where + ".function.name");
      blocks.addObject().put("type", "tool_use").put("id", id).put("name", name)
          .set("input", arguments(call.path("function").path("arguments"), where + ".function.arguments"));
    }
    return blocks;
  }

  private static String required(JsonNode n, String at) {
    if (!n.isTextual() || n.asText().isEmpty()) {
      throw new UntranslatableException(at + ": expected a non-empty string");
    }
    return n.asText();
  }

  /** A tool call's arguments (a JSON string in OpenAI) as the object Messages wants in {@code input}. */
  private static JsonNode arguments(JsonNode arguments, String at) {
    if (!present(arguments) || arguments.isTextual() && arguments.asText().isBlank()) {
      return NODES.objectNode();
    }
    if (!arguments.isTextual()) {
      throw new UntranslatableException(at + ": expected a string of JSON");
    }
    JsonNode input;
    try {
      input = Json.mapper().readTree(arguments.asText());
    } catch (JacksonException e) {
      throw new UntranslatableException(at + ": not valid JSON (" + e.getOriginalMessage() + ")");
    }
    if (input == null || !input.isObject()) {
      throw new UntranslatableException(at + ": expected a JSON object, Anthropic takes no other tool input");
    }
    return input;
  }

  private static ArrayNode toolResult(JsonNode m, String at) {
    ObjectNode block = NODES.objectNode().put("type", "tool_result")
        .put("tool_use_id", required(m.path("tool_call_id"), at + ".tool_call_id"));
    JsonNode content = m.path("content");
    if (content.isTextual()) {
      if (!content.asText().isEmpty()) {
        block.put("content", content.asText());
      }
    } else if (content.isArray()) {
      ArrayNode parts = NODES.arrayNode();
      for (int i = 0; i < content.size(); i++) {
        JsonNode part = content.get(i);
        if (!part.path("type").asText().equals("text")) {
          throw new UntranslatableException(at + ".content[" + i + "]: type " + part.path("type").asText("(missing)")
              + " is not supported in a tool result");
        }
        text(parts, textOf(part, at + ".content[" + i + "]"), part.get("cache_control"));
      }
      if (!parts.isEmpty()) {
        block.set("content", parts);
      }
    } else if (present(content)) {
      throw new UntranslatableException(at + ".content: expected a string or an array of text parts");
    }
    return NODES.arrayNode().add(block);
  }

  /** Sets {@code tools}; whether there are any. */
  private static boolean tools(JsonNode tools, ObjectNode out) {
    if (!present(tools)) {
      return false;
    }
    if (!tools.isArray()) {
      throw new UntranslatableException("tools: expected an array");
    }
    if (tools.isEmpty()) {
      return false;
    }
    ArrayNode list = out.putArray("tools");
    for (int i = 0; i < tools.size(); i++) {
      JsonNode tool = tools.get(i);
      String at = "tools[" + i + "]";
      String type = tool.path("type").asText("");
      if (!type.equals("function")) {
        throw new UntranslatableException(at + ": type " + (type.isEmpty() ? "(missing)" : type)
            + " is not supported by Anthropic; only function tools are");
      }
      JsonNode f = tool.path("function");
      ObjectNode t = list.addObject().put("name", required(f.path("name"), at + ".function.name"));
      if (f.path("description").isTextual()) {
        t.put("description", f.path("description").asText());
      }
      JsonNode parameters = f.path("parameters");
      if (parameters.isObject()) {
        t.set("input_schema", parameters);
      } else if (present(parameters)) {
        throw new UntranslatableException(at + ".function.parameters: expected a JSON Schema object");
      } else {
        t.putObject("input_schema").put("type", "object").putObject("properties");
      }
    }
    return true;
  }

  private static void toolChoice(ObjectNode chat, ObjectNode out) {
    JsonNode choice = chat.path("tool_choice");
    ObjectNode tc = NODES.objectNode();
    if (!present(choice) || choice.isTextual() && choice.asText().equals("auto")) {
      tc.put("type", "auto");
    } else if (choice.isTextual() && choice.asText().equals("none")) {
      tc.put("type", "none");
    } else if (choice.isTextual() && choice.asText().equals("required")) {
      tc.put("type", "any");
    } else if (choice.isObject() && choice.path("type").asText().equals("function")) {
      tc.put("type", "tool").put("name", required(choice.path("function").path("name"), "tool_choice.function.name"));
    } else {
      throw new UntranslatableException("tool_choice: " + choice + " is not supported by Anthropic;"
          + " expected auto, none, required or {type: function, function: {name}}");
    }
    boolean serial = chat.path("parallel_tool_calls").isBoolean() && !chat.path("parallel_tool_calls").asBoolean();
    if (serial && !tc.path("type").asText().equals("none")) {
      tc.put("disable_parallel_tool_use", true);
    }
    if (present(choice) || serial) {
      out.set("tool_choice", tc);
    }
  }

  // ---------------------------------------------------------------- response

  /**
   * A non-streaming Messages response body as an OpenAI {@code chat.completion} body whose
   * model is {@code reportedModel}; throws {@link IllegalArgumentException} when the body is not
   * a Messages response.
   */
  public static byte[] response(byte[] anthropicBody, String reportedModel) {
    Objects.requireNonNull(reportedModel, "reportedModel");
    JsonNode m = readAnswer(anthropicBody);
    JsonNode content = m.path("content");
    if (!content.isArray() || !m.path("id").isTextual()) {
      throw notMessages("expected an object with id and content, got " + preview(anthropicBody));
    }
    StringBuilder text = new StringBuilder();
    ArrayNode calls = NODES.arrayNode();
    for (JsonNode block : content) {
      switch (block.path("type").asText("")) {
        case "text" -> text.append(block.path("text").asText(""));
        case "tool_use" -> calls.addObject().put("id", block.path("id").asText("")).put("type", "function")
            .putObject("function").put("name", block.path("name").asText(""))
            .put("arguments", Json.write(block.path("input").isObject() ? block.path("input") : NODES.objectNode()));
        default -> {
          // thinking, redacted_thinking and server tool blocks have no place in a chat completion
        }
      }
    }
    ObjectNode out = NODES.objectNode().put("id", "chatcmpl-" + m.path("id").asText())
        .put("object", "chat.completion").put("created", System.currentTimeMillis() / 1000).put("model", reportedModel);
    ObjectNode choice = out.putArray("choices").addObject().put("index", 0);
    ObjectNode message = choice.putObject("message").put("role", "assistant");
    if (text.isEmpty()) {
      message.putNull("content");
    } else {
      message.put("content", text.toString());
    }
    message.putNull("refusal");
    if (!calls.isEmpty()) {
      message.set("tool_calls", calls);
    }
    choice.putNull("logprobs");
    choice.put("finish_reason", finishReason(m.path("stop_reason").asText(null)));
    JsonNode u = m.path("usage");
    out.set("usage", usage(u.path("input_tokens").asLong(0), u.path("cache_read_input_tokens").asLong(0),
        u.path("cache_creation_input_tokens").asLong(0), u.path("output_tokens").asLong(0)));
    return write(out);
  }

  private static JsonNode readAnswer(byte[] body) {
    Objects.requireNonNull(body, "anthropicBody");
    JsonNode m;
    try {
      m = Json.mapper().readTree(body);
    } catch (java.io.IOException e) {
      throw notMessages("not JSON (" + (e instanceof JacksonException j ? j.getOriginalMessage() : e.getMessage())
          + "): " + preview(body));
    }
    if (m == null || !m.isObject()) {
      throw notMessages("expected a JSON object, got " + preview(body));
    }
    if (m.path("type").asText().equals("error")) {
      throw notMessages("it is an error (" + m.path("error").path("type").asText("unknown") + ": "
          + m.path("error").path("message").asText("") + ")");
    }
    if (present(m.path("type")) && !m.path("type").asText().equals("message")) {
      throw notMessages("expected type \"message\", got " + m.path("type"));
    }
    return m;
  }

  private static IllegalArgumentException notMessages(String why) {
    return new IllegalArgumentException("the provider's answer is not a Messages response: " + why);
  }

  private static String preview(byte[] body) {
    String s = new String(body, 0, Math.min(body.length, 200), StandardCharsets.UTF_8);
    return s.isBlank() ? "an empty body" : "\"" + s + (body.length > 200 ? "...\"" : "\"");
  }

  /** Anthropic's {@code stop_reason} as OpenAI's {@code finish_reason}; null while unknown. */
  static String finishReason(String stopReason) {
    if (stopReason == null) {
      return null;
    }
    return switch (stopReason) {
      case "max_tokens", "model_context_window_exceeded" -> "length";
      case "tool_use" -> "tool_calls";
      case "refusal" -> "content_filter";
      default -> "stop"; // end_turn, stop_sequence, pause_turn, and reasons added later
    };
  }

  /** OpenAI usage: Anthropic counts cached and cache-writing input apart from {@code input_tokens}; OpenAI's prompt holds all. */
  private static ObjectNode usage(long input, long cacheRead, long cacheCreation, long output) {
    long prompt = input + cacheRead + cacheCreation;
    ObjectNode u = NODES.objectNode().put("prompt_tokens", prompt).put("completion_tokens", output)
        .put("total_tokens", prompt + output);
    u.putObject("prompt_tokens_details").put("cached_tokens", cacheRead);
    return u;
  }

  // ---------------------------------------------------------------- errors

  /**
   * An Anthropic error response ({@code status} and a body {@code {"type":"error","error":{"type",
   * "message"}}}) as an OpenAI error body {@code {"error":{"message","type","param","code"}}}:
   * {@code code} is Anthropic's error type; a body that is not JSON becomes the message.
   */
  public static byte[] error(int status, byte[] anthropicBody) {
    JsonNode e = NODES.missingNode();
    byte[] body = anthropicBody == null ? new byte[0] : anthropicBody;
    try {
      JsonNode doc = Json.mapper().readTree(body);
      e = doc == null ? e : doc.path("error");
    } catch (java.io.IOException notJson) {
      // the message is the body itself, below
    }
    String type = e.path("type").isTextual() ? e.path("type").asText() : errorType(status);
    String message = e.path("message").asText("");
    if (message.isEmpty()) {
      String raw = new String(body, 0, Math.min(body.length, 1000), StandardCharsets.UTF_8).strip();
      message = raw.isEmpty() ? "the provider answered HTTP " + status + " without a message" : raw;
    }
    return write(errorBody(type, message));
  }

  /** The error type Anthropic documents for an HTTP status. */
  private static String errorType(int status) {
    return switch (status) {
      case 401 -> "authentication_error";
      case 402 -> "billing_error";
      case 403 -> "permission_error";
      case 404 -> "not_found_error";
      case 413 -> "request_too_large";
      case 429 -> "rate_limit_error";
      case 504 -> "timeout_error";
      case 529 -> "overloaded_error";
      default -> status >= 500 ? "api_error" : "invalid_request_error";
    };
  }

  private static ObjectNode errorBody(String anthropicType, String message) {
    String type = switch (anthropicType) {
      case "api_error", "overloaded_error", "timeout_error" -> "server_error";
      default -> anthropicType;
    };
    ObjectNode out = NODES.objectNode();
    out.putObject("error").put("message", message).put("type", type).putNull("param").put("code", anthropicType);
    return out;
  }

  private static byte[] write(JsonNode node) {
    return Json.write(node).getBytes(StandardCharsets.UTF_8);
  }

  // ---------------------------------------------------------------- stream

  /**
   * Translates an Anthropic event stream to OpenAI {@code chat.completion.chunk} events,
   * incrementally, as bytes arrive. Not thread-safe; one per response.
   */
  public static final class Stream {

    private static final byte[] NOTHING = new byte[0];

    private final String model;
    private final boolean includeUsage;
    private final long created;
    /** The unfinished line: bytes, so that a UTF-8 character split across feeds is decoded whole. */
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private final StringBuilder data = new StringBuilder();
    private boolean hasData;
    private int events;
    private String id = "chatcmpl-";
    private boolean finished;
    private long input = -1;
    private long cacheRead;
    private long cacheCreation;
    private long output = -1;
    /** Anthropic content block index to OpenAI tool call index (tool_use blocks counted from 0). */
    private final Map<Integer, Integer> toolCalls = new HashMap<>();
    private final Set<Integer> toolCallsWithArguments = new HashSet<>();

    /** A translator for one response; chunks name {@code reportedModel}, and end with usage when {@code includeUsage}. */
    public Stream(String reportedModel, boolean includeUsage) {
      this(reportedModel, includeUsage, System.currentTimeMillis() / 1000);
    }

    Stream(String reportedModel, boolean includeUsage, long created) {
      this.model = Objects.requireNonNull(reportedModel, "reportedModel");
      this.includeUsage = includeUsage;
      this.created = created;
    }

    /**
     * Feeds raw bytes of the upstream event stream as they arrive (split anywhere); returns the
     * OpenAI event bytes to send now, possibly none. Throws {@link IllegalArgumentException} when
     * an event is not a Messages stream event.
     */
    public byte[] feed(byte[] bytes, int offset, int length) {
      Objects.checkFromIndexSize(offset, length, bytes.length);
      if (finished) {
        return NOTHING;
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      int start = offset;
      int end = offset + length;
      for (int i = offset; i < end && !finished; i++) {
        if (bytes[i] == '\n') {
          line.write(bytes, start, i - start);
          start = i + 1;
          byte[] l = line.toByteArray();
          line.reset();
          int n = l.length > 0 && l[l.length - 1] == '\r' ? l.length - 1 : l.length;
          line(new String(l, 0, n, StandardCharsets.UTF_8), out);
        }
      }
      if (!finished) {
        line.write(bytes, start, end - start);
        if (line.size() + data.length() > MAX_EVENT_BYTES) {
          throw new IllegalArgumentException("the provider's stream is not a Messages stream: event " + (events + 1)
              + " is longer than " + MAX_EVENT_BYTES + " bytes");
        }
      }
      return out.toByteArray();
    }

    /** Whether {@code message_stop} was seen. */
    public boolean finished() {
      return finished;
    }

    /**
     * Usage so far: input from {@code message_start} (with cache reads and writes), output from
     * the latest {@code message_delta} (Anthropic's counts are cumulative); {@link Usage#NONE}
     * before {@code message_start}.
     */
    public Usage usage() {
      if (input < 0) {
        return Usage.NONE;
      }
      return new Usage(input + cacheRead + cacheCreation, Math.max(output, 0), cacheRead, -1);
    }

    /** One line of server-sent events: a blank line ends an event; only its data lines matter. */
    private void line(String l, ByteArrayOutputStream out) {
      if (l.isEmpty()) {
        if (hasData) {
          String event = data.toString();
          data.setLength(0);
          hasData = false;
          event(event, out);
        }
        return;
      }
      if (l.startsWith("data:")) {
        if (hasData) {
          data.append('\n');
        }
        data.append(l, l.startsWith("data: ") ? 6 : 5, l.length());
        hasData = true;
      }
      // "event:" repeats the type the data holds; comments (":...") and "id:"/"retry:" carry nothing here
    }

    private void event(String json, ByteArrayOutputStream out) {
      events++;
      JsonNode e;
      try {
        e = Json.mapper().readTree(json);
      } catch (JacksonException ex) {
        throw notStream("is not JSON (" + ex.getOriginalMessage() + ")");
      }
      if (e == null || !e.isObject() || !e.path("type").isTextual()) {
        throw notStream("has no type");
      }
      switch (e.path("type").asText()) {
        case "message_start" -> {
          JsonNode message = e.path("message");
          if (!message.path("id").isTextual()) {
            throw notStream("is a message_start without message.id");
          }
          id = "chatcmpl-" + message.path("id").asText();
          JsonNode u = message.path("usage");
          input = u.path("input_tokens").asLong(0);
          cacheRead = u.path("cache_read_input_tokens").asLong(0);
          cacheCreation = u.path("cache_creation_input_tokens").asLong(0);
          output = u.path("output_tokens").asLong(0);
          chunk(out, NODES.objectNode().put("role", "assistant").put("content", ""), null);
        }
        case "content_block_start" -> {
          JsonNode block = e.path("content_block");
          int index = e.path("index").asInt(-1);
          if (block.path("type").asText().equals("tool_use")) {
            int call = toolCalls.size();
            toolCalls.put(index, call);
            ObjectNode delta = NODES.objectNode();
            delta.putArray("tool_calls").addObject().put("index", call).put("id", block.path("id").asText(""))
                .put("type", "function").putObject("function").put("name", block.path("name").asText(""))
                .put("arguments", "");
            chunk(out, delta, null);
          } else if (block.path("type").asText().equals("text") && !block.path("text").asText("").isEmpty()) {
            chunk(out, NODES.objectNode().put("content", block.path("text").asText()), null);
          }
        }
        case "content_block_delta" -> {
          JsonNode delta = e.path("delta");
          int index = e.path("index").asInt(-1);
          switch (delta.path("type").asText("")) {
            case "text_delta" -> {
              if (!delta.path("text").asText("").isEmpty()) {
                chunk(out, NODES.objectNode().put("content", delta.path("text").asText()), null);
              }
            }
            case "input_json_delta" -> {
              String partial = delta.path("partial_json").asText("");
              if (toolCalls.containsKey(index) && !partial.isEmpty()) {
                toolCallsWithArguments.add(index);
                arguments(out, toolCalls.get(index), partial);
              }
            }
            default -> {
              // thinking_delta, signature_delta, citations_delta: no place in a chat completion chunk
            }
          }
        }
        case "content_block_stop" -> {
          int index = e.path("index").asInt(-1);
          if (toolCalls.containsKey(index) && toolCallsWithArguments.add(index)) {
            // A tool without parameters streams no input; OpenAI clients parse the arguments as JSON.
            arguments(out, toolCalls.get(index), "{}");
          }
        }
        case "message_delta" -> {
          JsonNode u = e.path("usage");
          output = u.path("output_tokens").asLong(output);
          input = u.path("input_tokens").asLong(input);
          cacheRead = u.path("cache_read_input_tokens").asLong(cacheRead);
          cacheCreation = u.path("cache_creation_input_tokens").asLong(cacheCreation);
          String reason = e.path("delta").path("stop_reason").asText(null);
          if (reason != null) {
            chunk(out, NODES.objectNode(), finishReason(reason));
          }
        }
        case "message_stop" -> {
          finished = true;
          if (includeUsage) {
            ObjectNode last = header();
            last.putArray("choices");
            last.set("usage", AnthropicTranslation.usage(Math.max(input, 0), cacheRead, cacheCreation, Math.max(output, 0)));
            send(out, Json.write(last));
          }
          send(out, "[DONE]");
        }
        case "error" -> send(out, Json.write(errorBody(e.path("error").path("type").asText("api_error"),
            e.path("error").path("message").asText("the provider reported an error mid-stream"))));
        default -> {
          // ping, and event types Anthropic may add later: its docs ask clients to ignore unknown ones
        }
      }
    }

    private IllegalArgumentException notStream(String why) {
      return new IllegalArgumentException("the provider's stream is not a Messages stream: event " + events + " " + why);
    }

    private ObjectNode header() {
      return NODES.objectNode().put("id", id).put("object", "chat.completion.chunk").put("created", created)
          .put("model", model);
    }

    private void arguments(ByteArrayOutputStream out, int call, String partial) {
      ObjectNode delta = NODES.objectNode();
      delta.putArray("tool_calls").addObject().put("index", call).putObject("function").put("arguments", partial);
      chunk(out, delta, null);
    }

    private void chunk(ByteArrayOutputStream out, ObjectNode delta, String finishReason) {
      ObjectNode chunk = header();
      ObjectNode choice = chunk.putArray("choices").addObject().put("index", 0);
      choice.set("delta", delta);
      choice.putNull("logprobs");
      choice.put("finish_reason", finishReason);
      if (includeUsage) {
        chunk.putNull("usage");
      }
      send(out, Json.write(chunk));
    }

    private static void send(ByteArrayOutputStream out, String data) {
      out.writeBytes(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
    }
  }
}

package dev.flightdeck.gateway.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.gateway.model.AnthropicTranslation.UntranslatableException;
import dev.flightdeck.gateway.telemetry.Usage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * OpenAI Chat Completions to Anthropic Messages and back. The Anthropic payloads are the examples
 * of Anthropic's Messages, tool use, streaming and errors documentation.
 */
class AnthropicTranslationTest {

  private static ObjectNode chat(String json) {
    return (ObjectNode) Json.read(json);
  }

  private static JsonNode request(String chatJson) {
    return Json.read(new String(AnthropicTranslation.request(chat(chatJson), "claude-sonnet-4-5", 4096),
        StandardCharsets.UTF_8));
  }

  private static JsonNode response(String anthropicJson) {
    return Json.read(new String(AnthropicTranslation.response(anthropicJson.getBytes(StandardCharsets.UTF_8), "gw-model"),
        StandardCharsets.UTF_8));
  }

  // ---------------------------------------------------------------- request

  @Test
  void request_systemAndDeveloperMessagesBecomeTheTopLevelSystem_andTheModelIsReplaced() {
    JsonNode out = request("""
        {"model": "gpt-4o", "max_tokens": 100, "max_completion_tokens": 200,
         "messages": [
           {"role": "system", "content": "You are a helpful assistant."},
           {"role": "developer", "content": [{"type": "text", "text": "Answer briefly."}]},
           {"role": "user", "content": "Hello, Claude"}]}""");
    assertThat(out).isEqualTo(Json.read("""
        {"model": "claude-sonnet-4-5", "max_tokens": 200,
         "system": "You are a helpful assistant.\\n\\nAnswer briefly.",
         "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello, Claude"}]}]}"""));
  }

  @Test
  void request_maxTokensFallsBackToMaxTokensThenToTheDefault() {
    assertThat(request("""
        {"max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]}""").path("max_tokens").asInt())
        .isEqualTo(100);
    assertThat(request("""
        {"messages": [{"role": "user", "content": "Hi"}]}""").path("max_tokens").asInt()).isEqualTo(4096);
  }

  @Test
  void request_toolLoop_toolCallsBecomeToolUseAndConsecutiveResultsOneUserMessage() {
    JsonNode out = request("""
        {"model": "gpt-4o",
         "tools": [{"type": "function", "function": {"name": "get_weather",
            "description": "Get the current weather in a given location",
            "parameters": {"type": "object", "properties": {"location": {"type": "string",
               "description": "The city and state, e.g. San Francisco, CA"}}, "required": ["location"]}}},
           {"type": "function", "function": {"name": "get_time"}}],
         "messages": [
           {"role": "user", "content": "What's the weather like in San Francisco and New York?"},
           {"role": "assistant", "content": "", "tool_calls": [
             {"id": "toolu_01A09q90qw90lq917835lq9", "type": "function",
              "function": {"name": "get_weather", "arguments": "{\\"location\\": \\"San Francisco, CA\\"}"}},
             {"id": "toolu_02B", "type": "function", "function": {"name": "get_weather", "arguments": "{\\"location\\": \\"New York, NY\\"}"}}]},
           {"role": "tool", "tool_call_id": "toolu_01A09q90qw90lq917835lq9", "content": "15 degrees"},
           {"role": "tool", "tool_call_id": "toolu_02B", "content": [{"type": "text", "text": "22 degrees"}]},
           {"role": "user", "content": "And tomorrow?"}]}""");
    assertThat(out.path("messages")).isEqualTo(Json.read("""
        [{"role": "user", "content": [{"type": "text", "text": "What's the weather like in San Francisco and New York?"}]},
         {"role": "assistant", "content": [
           {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"location": "San Francisco, CA"}},
           {"type": "tool_use", "id": "toolu_02B", "name": "get_weather", "input": {"location": "New York, NY"}}]},
         {"role": "user", "content": [
           {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": "15 degrees"},
           {"type": "tool_result", "tool_use_id": "toolu_02B", "content": [{"type": "text", "text": "22 degrees"}]},
           {"type": "text", "text": "And tomorrow?"}]}]"""));
    assertThat(out.path("tools")).isEqualTo(Json.read("""
        [{"name": "get_weather", "description": "Get the current weather in a given location",
          "input_schema": {"type": "object", "properties": {"location": {"type": "string",
             "description": "The city and state, e.g. San Francisco, CA"}}, "required": ["location"]}},
         {"name": "get_time", "input_schema": {"type": "object", "properties": {}}}]"""));
    assertThat(out.has("tool_choice")).as("Anthropic's default is auto").isFalse();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "\"auto\"                                            | true  | {\"type\":\"auto\"}",
      "\"none\"                                            | true  | {\"type\":\"none\"}",
      "\"required\"                                        | true  | {\"type\":\"any\"}",
      "{\"type\":\"function\",\"function\":{\"name\":\"f\"}} | true  | {\"type\":\"tool\",\"name\":\"f\"}",
      "\"auto\"                                            | false | {\"type\":\"auto\",\"disable_parallel_tool_use\":true}",
      "\"required\"                                        | false | {\"type\":\"any\",\"disable_parallel_tool_use\":true}",
      "null                                                | false | {\"type\":\"auto\",\"disable_parallel_tool_use\":true}",
      "\"none\"                                            | false | {\"type\":\"none\"}",
  })
  void request_toolChoiceAndParallelToolCalls(String toolChoice, boolean parallel, String expected) {
    JsonNode out = request("""
        {"tool_choice": %s, "parallel_tool_calls": %s,
         "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
         "messages": [{"role": "user", "content": "Hi"}]}""".formatted(toolChoice, parallel));
    assertThat(out.path("tool_choice")).isEqualTo(Json.read(expected));
  }

  @Test
  void request_toolChoiceWithoutToolsIsLeftOut() {
    assertThat(request("""
        {"tool_choice": "none", "parallel_tool_calls": false, "tools": [], "messages": [{"role": "user", "content": "Hi"}]}""")
        .has("tool_choice")).isFalse();
  }

  @Test
  void request_imagesBecomeBase64OrUrlSources() {
    JsonNode out = request("""
        {"messages": [{"role": "user", "content": [
          {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRg==", "detail": "high"}},
          {"type": "image_url", "image_url": {"url": "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"}},
          {"type": "text", "text": "Describe these images."}]}]}""");
    assertThat(out.path("messages").get(0).path("content")).isEqualTo(Json.read("""
        [{"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}},
         {"type": "image", "source": {"type": "url",
           "url": "https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"}},
         {"type": "text", "text": "Describe these images."}]"""));
  }

  @Test
  void request_inlinePdfBecomesADocument() {
    JsonNode out = request("""
        {"messages": [{"role": "user", "content": [
          {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"}}]}]}""");
    assertThat(out.at("/messages/0/content/0")).isEqualTo(Json.read("""
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}}"""));
  }

  @Test
  void request_samplingStopStreamAndUserCarryOver_andIrrelevantFieldsAreDropped() {
    JsonNode out = request("""
        {"model": "gpt-4o", "temperature": 0.2, "top_p": 0.9, "stop": "###", "stream": true,
         "stream_options": {"include_usage": true}, "user": "user-8b1f", "seed": 7, "store": true,
         "response_format": {"type": "json_object"}, "logprobs": false, "n": 1, "metadata": {"team": "a"},
         "presence_penalty": 0.5, "frequency_penalty": 0.1,
         "messages": [{"role": "user", "content": "Hi"}]}""");
    assertThat(out).isEqualTo(Json.read("""
        {"model": "claude-sonnet-4-5", "max_tokens": 4096,
         "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
         "temperature": 0.2, "top_p": 0.9, "stop_sequences": ["###"], "stream": true,
         "metadata": {"user_id": "user-8b1f"}}"""));
    assertThat(request("""
        {"stop": ["a", "b"], "messages": [{"role": "user", "content": "Hi"}]}""").path("stop_sequences"))
        .isEqualTo(Json.read("[\"a\", \"b\"]"));
  }

  @Test
  void request_aUserThatIsAnEmailAddressIsLeftOut_AnthropicRejectsIt() {
    assertThat(request("""
        {"user": "ana@example.com", "messages": [{"role": "user", "content": "Hi"}]}""").has("metadata")).isFalse();
  }

  @Test
  void request_consecutiveSameRoleMessagesMerge_andEmptyTextIsLeftOut() {
    JsonNode out = request("""
        {"messages": [{"role": "user", "content": "one"}, {"role": "user", "content": [{"type": "text", "text": "two"}]},
                      {"role": "assistant", "content": ""}, {"role": "assistant", "content": "three"}]}""");
    assertThat(out.path("messages")).isEqualTo(Json.read("""
        [{"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
         {"role": "assistant", "content": [{"type": "text", "text": "three"}]}]"""));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "{\"n\": 2, \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}"
          + " | n: 2 choices were asked for; Anthropic answers with one",
      "{\"logprobs\": true, \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}"
          + " | logprobs: log probabilities are not supported by Anthropic",
      "{\"messages\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", \"content\": \"Hi\"},"
          + " {\"role\": \"user\", \"content\": [{\"type\": \"input_audio\", \"input_audio\": {\"data\": \"AAA\", \"format\": \"wav\"}}]}]}"
          + " | messages[2].content[0]: type input_audio is not supported by Anthropic",
      "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"tool_calls\": [{\"id\": \"c1\","
          + " \"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": \"{oops\"}}]}]}"
          + " | messages[1].tool_calls[0].function.arguments: not valid JSON",
      "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"tool_calls\": [{\"id\": \"c1\","
          + " \"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": \"[1]\"}}]}]}"
          + " | messages[1].tool_calls[0].function.arguments: expected a JSON object",
      "{\"response_format\": {\"type\": \"json_schema\"}, \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}"
          + " | response_format.type: json_schema is not supported by Anthropic",
      "{\"messages\": [{\"role\": \"function\", \"name\": \"f\", \"content\": \"x\"}]}"
          + " | messages[0].role: role function is not supported by Anthropic",
      "{\"messages\": [{\"content\": \"x\"}]} | messages[0].role: missing",
      "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"ftp://x/y.png\"}}]}]}"
          + " | messages[0].content[0].image_url.url: only base64 data: URLs and http(s) URLs are supported",
      "{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]} | messages[0].tool_call_id: expected a non-empty string",
      "{\"tools\": [{\"type\": \"custom\", \"custom\": {\"name\": \"g\"}}], \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}"
          + " | tools[0]: type custom is not supported by Anthropic",
      "{\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\"}}], \"tool_choice\": {\"type\": \"allowed_tools\"},"
          + " \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]} | tool_choice: {\"type\":\"allowed_tools\"} is not supported",
      "{\"functions\": [{\"name\": \"f\"}], \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}"
          + " | functions: the legacy functions field is not supported by Anthropic",
      "{\"max_tokens\": \"lots\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}"
          + " | max_tokens: expected a positive integer",
      "{\"messages\": []} | messages: expected a non-empty array",
      "{\"model\": \"gpt-4o\"} | messages: expected a non-empty array",
      "{\"messages\": [{\"role\": \"user\", \"content\": 42}]} | messages[0].content: expected a string or an array of content parts",
  })
  void request_refusesWhatMessagesCannotExpress_sayingWhereAndWhat(String chatJson, String message) {
    assertThatThrownBy(() -> AnthropicTranslation.request(chat(chatJson), "claude-sonnet-4-5", 1024))
        .isInstanceOf(UntranslatableException.class)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith(message.strip());
  }

  // ---------------------------------------------------------------- response

  @Test
  void response_textAnswerFromAnthropicsDocs() {
    JsonNode out = response("""
        {"content": [{"text": "Hi! My name is Claude.", "type": "text"}],
         "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF", "model": "claude-sonnet-4-5-20250929", "role": "assistant",
         "stop_reason": "end_turn", "stop_sequence": null, "type": "message",
         "usage": {"input_tokens": 2095, "output_tokens": 503}}""");
    assertThat(out.path("created").asLong()).isCloseTo(System.currentTimeMillis() / 1000, org.assertj.core.data.Offset.offset(5L));
    ((ObjectNode) out).remove("created");
    assertThat(out).isEqualTo(Json.read("""
        {"id": "chatcmpl-msg_013Zva2CMHLNnXjNJJKqJ2EF", "object": "chat.completion", "model": "gw-model",
         "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi! My name is Claude.", "refusal": null},
                      "logprobs": null, "finish_reason": "stop"}],
         "usage": {"prompt_tokens": 2095, "completion_tokens": 503, "total_tokens": 2598,
                   "prompt_tokens_details": {"cached_tokens": 0}}}"""));
  }

  @Test
  void response_toolUseFromAnthropicsDocsBecomesToolCalls() {
    JsonNode out = response("""
        {"id": "msg_01Aq9w938a90dw8q", "model": "claude-sonnet-4-5", "stop_reason": "tool_use", "role": "assistant",
         "type": "message",
         "content": [
           {"type": "thinking", "thinking": "The user wants the weather.", "signature": "EqQBCgIYAhIM"},
           {"type": "text", "text": "I'll check the current weather in San Francisco for you."},
           {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
            "input": {"location": "San Francisco, CA", "unit": "celsius"}}],
         "usage": {"input_tokens": 472, "output_tokens": 89}}""");
    JsonNode message = out.at("/choices/0/message");
    assertThat(message.path("content").asText()).isEqualTo("I'll check the current weather in San Francisco for you.");
    assertThat(message.path("tool_calls")).hasSize(1);
    JsonNode call = message.path("tool_calls").get(0);
    assertThat(call.path("id").asText()).isEqualTo("toolu_01A09q90qw90lq917835lq9");
    assertThat(call.path("type").asText()).isEqualTo("function");
    assertThat(call.at("/function/name").asText()).isEqualTo("get_weather");
    assertThat(Json.read(call.at("/function/arguments").asText()))
        .isEqualTo(Json.read("{\"location\": \"San Francisco, CA\", \"unit\": \"celsius\"}"));
    assertThat(out.at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
  }

  @Test
  void response_withoutTextHasNullContent() {
    JsonNode out = response("""
        {"id": "msg_1", "type": "message", "role": "assistant", "content": [
          {"type": "tool_use", "id": "toolu_1", "name": "get_time", "input": {}}],
         "stop_reason": "tool_use", "usage": {"input_tokens": 1, "output_tokens": 1}}""");
    assertThat(out.at("/choices/0/message/content").isNull()).isTrue();
    assertThat(out.at("/choices/0/message/tool_calls/0/function/arguments").asText()).isEqualTo("{}");
  }

  @ParameterizedTest
  @CsvSource({
      "end_turn, stop", "stop_sequence, stop", "max_tokens, length", "tool_use, tool_calls",
      "refusal, content_filter", "pause_turn, stop", "model_context_window_exceeded, length"})
  void response_stopReasonsMapToFinishReasons(String stopReason, String finishReason) {
    JsonNode out = response("""
        {"id": "msg_1", "type": "message", "role": "assistant", "content": [{"type": "text", "text": "x"}],
         "stop_reason": "%s", "usage": {"input_tokens": 1, "output_tokens": 1}}""".formatted(stopReason));
    assertThat(out.at("/choices/0/finish_reason").asText()).isEqualTo(finishReason);
  }

  @Test
  void response_promptTokensCountCacheReadsAndWrites_cachedTokensTheReads() {
    JsonNode out = response("""
        {"id": "msg_1", "type": "message", "role": "assistant", "content": [{"type": "text", "text": "x"}],
         "stop_reason": "end_turn",
         "usage": {"input_tokens": 21, "cache_creation_input_tokens": 188086, "cache_read_input_tokens": 1200,
                   "output_tokens": 393}}""");
    assertThat(out.path("usage")).isEqualTo(Json.read("""
        {"prompt_tokens": 189307, "completion_tokens": 393, "total_tokens": 189700,
         "prompt_tokens_details": {"cached_tokens": 1200}}"""));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "<html>502 Bad Gateway</html> | not JSON",
      "''                           | expected a JSON object, got an empty body",
      "[1, 2]                       | expected a JSON object",
      "{\"id\": \"chatcmpl-1\", \"object\": \"chat.completion\", \"choices\": []} | expected an object with id and content",
      "{\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}"
          + " | it is an error (overloaded_error: Overloaded)",
      "{\"type\": \"completion\", \"completion\": \"Hi\"} | expected type \"message\"",
  })
  void response_rejectsWhatIsNotAMessagesResponse(String body, String why) {
    assertThatThrownBy(() -> AnthropicTranslation.response(body.getBytes(StandardCharsets.UTF_8), "m"))
        .isExactlyInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("the provider's answer is not a Messages response: " + why);
  }

  // ---------------------------------------------------------------- errors

  @Test
  void error_anthropicErrorsBecomeOpenAiErrors() {
    assertThat(Json.read(new String(AnthropicTranslation.error(529, """
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}"""
        .getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8))).isEqualTo(Json.read("""
        {"error": {"message": "Overloaded", "type": "server_error", "param": null, "code": "overloaded_error"}}"""));
    assertThat(Json.read(new String(AnthropicTranslation.error(400, """
        {"type": "error", "error": {"type": "invalid_request_error",
         "message": "messages: roles must alternate between \\"user\\" and \\"assistant\\""}}"""
        .getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8))).isEqualTo(Json.read("""
        {"error": {"message": "messages: roles must alternate between \\"user\\" and \\"assistant\\"",
                   "type": "invalid_request_error", "param": null, "code": "invalid_request_error"}}"""));
  }

  @Test
  void error_bodiesThatAreNotJsonBecomeTheMessage_typedByStatus() {
    JsonNode html = Json.read(new String(AnthropicTranslation.error(502, "<html>Bad Gateway</html>\n"
        .getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8));
    assertThat(html).isEqualTo(Json.read("""
        {"error": {"message": "<html>Bad Gateway</html>", "type": "server_error", "param": null, "code": "api_error"}}"""));
    JsonNode empty = Json.read(new String(AnthropicTranslation.error(429, new byte[0]), StandardCharsets.UTF_8));
    assertThat(empty.at("/error/message").asText()).isEqualTo("the provider answered HTTP 429 without a message");
    assertThat(empty.at("/error/type").asText()).isEqualTo("rate_limit_error");
    assertThat(Json.read(new String(AnthropicTranslation.error(401, "[]".getBytes(StandardCharsets.UTF_8)),
        StandardCharsets.UTF_8)).at("/error/code").asText()).isEqualTo("authentication_error");
  }

  // ---------------------------------------------------------------- stream

  /** Server-sent events as Anthropic sends them: each data line (one a line) after an event line naming its type. */
  private static String named(String dataLines) {
    StringBuilder sb = new StringBuilder();
    for (String data : dataLines.strip().split("\n")) {
      sb.append("event: ").append(Json.read(data).path("type").asText()).append("\ndata: ").append(data).append("\n\n");
    }
    return sb.toString();
  }

  /** The streaming example of Anthropic's docs. */
  static final String TEXT_STREAM = named("""
      {"type": "message_start", "message": {"id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant", "content": [], "model": "claude-opus-4-1-20250805", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 25, "output_tokens": 1}}}
      {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
      {"type": "ping"}
      {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}
      {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}}
      {"type": "content_block_stop", "index": 0}
      {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence":null}, "usage": {"output_tokens": 15}}
      {"type": "message_stop"}
      """);

  /** The tool use streaming example of Anthropic's docs, with text in several scripts. */
  static final String TOOL_STREAM = """
      event: message_start
      data: {"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-opus-4-1-20250805","stop_sequence":null,"usage":{"input_tokens":472,"cache_read_input_tokens":100,"cache_creation_input_tokens":10,"output_tokens":2},"content":[],"stop_reason":null}}

      event: content_block_start
      data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

      event: ping
      data: {"type": "ping"}

      event: content_block_delta
      data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay, let's check the weather for San Francisco, CA — 東京 too 🌁"}}

      event: content_block_delta
      data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":":"}}

      event: content_block_stop
      data: {"type":"content_block_stop","index":0}

      event: content_block_start
      data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

      event: content_block_delta
      data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

      event: content_block_delta
      data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"location\\":"}}

      event: content_block_delta
      data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \\"San"}}

      event: content_block_delta
      data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" Francisc"}}

      event: content_block_delta
      data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"o,"}}

      event: content_block_delta
      data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" CA\\""}}

      event: content_block_delta
      data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":", "}}

      event: content_block_delta
      data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\\"unit\\": \\"fah"}}

      event: content_block_delta
      data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"renheit\\"}"}}

      event: content_block_stop
      data: {"type":"content_block_stop","index":1}

      event: content_block_start
      data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_02","name":"get_time","input":{}}}

      event: content_block_stop
      data: {"type":"content_block_stop","index":2}

      event: message_delta
      data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

      event: message_stop
      data: {"type":"message_stop"}

      """;

  private static String feedWhole(AnthropicTranslation.Stream s, String sse) {
    byte[] b = sse.getBytes(StandardCharsets.UTF_8);
    return new String(s.feed(b, 0, b.length), StandardCharsets.UTF_8);
  }

  private static List<JsonNode> events(String openAiSse) {
    List<JsonNode> out = new ArrayList<>();
    for (String block : openAiSse.split("\n\n")) {
      assertThat(block).startsWith("data: ");
      String data = block.substring(6);
      out.add(data.equals("[DONE]") ? null : Json.read(data));
    }
    return out;
  }

  private static String chunk(String id, String delta, String finishReason) {
    return "data: {\"id\":\"" + id + "\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gw-model\","
        + "\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"logprobs\":null,\"finish_reason\":" + finishReason + "}]}\n\n";
  }

  @Test
  void stream_textExampleFromAnthropicsDocs() {
    var s = new AnthropicTranslation.Stream("gw-model", false, 1_700_000_000L);
    String id = "chatcmpl-msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY";
    assertThat(feedWhole(s, TEXT_STREAM)).isEqualTo(
        chunk(id, "{\"role\":\"assistant\",\"content\":\"\"}", "null")
        + chunk(id, "{\"content\":\"Hello\"}", "null")
        + chunk(id, "{\"content\":\"!\"}", "null")
        + chunk(id, "{}", "\"stop\"")
        + "data: [DONE]\n\n");
    assertThat(s.finished()).isTrue();
    assertThat(s.usage()).isEqualTo(new Usage(25, 15, 0, -1));
  }

  @Test
  void stream_toolUseExampleFromAnthropicsDocs_withUsageLast() {
    var s = new AnthropicTranslation.Stream("gw-model", true, 1_700_000_000L);
    List<JsonNode> events = events(feedWhole(s, TOOL_STREAM));
    assertThat(events.get(events.size() - 1)).as("[DONE] last").isNull();
    List<JsonNode> chunks = events.subList(0, events.size() - 1);
    assertThat(chunks).allSatisfy(c -> {
      assertThat(c.path("id").asText()).isEqualTo("chatcmpl-msg_014p7gG3wDgGV9EUtLvnow3U");
      assertThat(c.path("object").asText()).isEqualTo("chat.completion.chunk");
      assertThat(c.path("model").asText()).isEqualTo("gw-model");
      assertThat(c.path("created").asLong()).isEqualTo(1_700_000_000L);
      assertThat(c.has("usage")).isTrue();
    });
    StringBuilder text = new StringBuilder();
    StringBuilder[] arguments = {new StringBuilder(), new StringBuilder()};
    List<String> names = new ArrayList<>();
    List<String> finishReasons = new ArrayList<>();
    for (JsonNode c : chunks.subList(0, chunks.size() - 1)) {
      JsonNode delta = c.at("/choices/0/delta");
      text.append(delta.path("content").asText(""));
      for (JsonNode call : delta.path("tool_calls")) {
        if (call.has("id")) {
          names.add(call.path("id").asText() + " " + call.at("/function/name").asText());
        }
        arguments[call.path("index").asInt()].append(call.at("/function/arguments").asText());
      }
      if (!c.at("/choices/0/finish_reason").isNull()) {
        finishReasons.add(c.at("/choices/0/finish_reason").asText());
      }
    }
    assertThat(text.toString()).isEqualTo("Okay, let's check the weather for San Francisco, CA — 東京 too 🌁:");
    assertThat(names).containsExactly("toolu_01T1x1fJ34qAmk2tNTrN7Up6 get_weather", "toolu_02 get_time");
    assertThat(Json.read(arguments[0].toString())).isEqualTo(Json.read("{\"location\": \"San Francisco, CA\", \"unit\": \"fahrenheit\"}"));
    assertThat(arguments[1].toString()).as("a tool without input still gets JSON arguments").isEqualTo("{}");
    assertThat(finishReasons).containsExactly("tool_calls");
    JsonNode last = chunks.get(chunks.size() - 1);
    assertThat(last.path("choices")).isEmpty();
    assertThat(last.path("usage")).isEqualTo(Json.read("""
        {"prompt_tokens": 582, "completion_tokens": 89, "total_tokens": 671, "prompt_tokens_details": {"cached_tokens": 100}}"""));
    assertThat(s.usage()).isEqualTo(new Usage(582, 89, 100, -1));
  }

  @Test
  void stream_fedByteByByteGivesWhatItGivesFedWhole() {
    String whole = feedWhole(new AnthropicTranslation.Stream("gw-model", true, 1L), TOOL_STREAM);
    var s = new AnthropicTranslation.Stream("gw-model", true, 1L);
    byte[] b = TOOL_STREAM.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int i = 0; i < b.length; i++) {
      out.writeBytes(s.feed(b, i, 1));
    }
    assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(whole);
  }

  @Property(tries = 200)
  void stream_anySplitGivesWhatItGivesFedWhole(@ForAll @Size(max = 40) List<@IntRange(min = 0, max = 100_000) Integer> cuts,
      @ForAll boolean crlf) {
    String sse = crlf ? TOOL_STREAM.replace("\n", "\r\n") : TOOL_STREAM;
    byte[] b = sse.getBytes(StandardCharsets.UTF_8);
    String whole = feedWhole(new AnthropicTranslation.Stream("gw-model", true, 1L), sse);
    List<Integer> points = new ArrayList<>(cuts.stream().map(c -> c % (b.length + 1)).sorted().toList());
    points.add(b.length);
    var s = new AnthropicTranslation.Stream("gw-model", true, 1L);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int from = 0;
    for (int to : points) {
      out.writeBytes(s.feed(b, from, to - from));
      from = to;
    }
    assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(whole);
    assertThat(s.finished()).isTrue();
  }

  @Test
  void stream_usageGrowsWithTheStream_cumulativeOutputFromTheLatestMessageDelta() {
    var s = new AnthropicTranslation.Stream("gw-model", false, 1L);
    assertThat(s.usage()).isEqualTo(Usage.NONE);
    feedWhole(s, """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":30,"cache_creation_input_tokens":5,"cache_read_input_tokens":1000,"output_tokens":1}}}

        """);
    assertThat(s.usage()).isEqualTo(new Usage(1035, 1, 1000, -1));
    feedWhole(s, """
        data: {"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":40}}

        data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":64}}

        """);
    assertThat(s.usage()).isEqualTo(new Usage(1035, 64, 1000, -1));
    assertThat(s.finished()).isFalse();
  }

  @Test
  void stream_errorEventBecomesAnOpenAiErrorEvent() {
    var s = new AnthropicTranslation.Stream("gw-model", false, 1L);
    String out = feedWhole(s, """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":3,"output_tokens":1}}}

        event: error
        data: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}

        """);
    assertThat(out).endsWith("""
        data: {"error":{"message":"Overloaded","type":"server_error","param":null,"code":"overloaded_error"}}

        """);
    assertThat(s.finished()).isFalse();
  }

  @Test
  void stream_ignoresPingsCommentsAndEventTypesItDoesNotKnow() {
    var s = new AnthropicTranslation.Stream("gw-model", false, 1L);
    assertThat(feedWhole(s, """
        : keep-alive

        event: ping
        data: {"type": "ping"}

        event: future_event
        data: {"type": "future_event", "what": 1}

        """)).isEmpty();
  }

  @Test
  void stream_nothingAfterMessageStop() {
    var s = new AnthropicTranslation.Stream("gw-model", false, 1L);
    feedWhole(s, TEXT_STREAM);
    assertThat(feedWhole(s, "data: {\"type\":\"message_stop\"}\n\n")).isEmpty();
  }

  @Test
  void stream_malformedEventsAreClearExceptions() {
    assertThatThrownBy(() -> feedWhole(new AnthropicTranslation.Stream("m", false), "data: {oops\n\n"))
        .isExactlyInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("the provider's stream is not a Messages stream: event 1 is not JSON");
    assertThatThrownBy(() -> feedWhole(new AnthropicTranslation.Stream("m", false), "data: {\"x\": 1}\n\n"))
        .isExactlyInstanceOf(IllegalArgumentException.class)
        .hasMessage("the provider's stream is not a Messages stream: event 1 has no type");
    assertThatThrownBy(() -> feedWhole(new AnthropicTranslation.Stream("m", false),
        "data: {\"type\": \"message_start\", \"message\": {}}\n\n"))
        .isExactlyInstanceOf(IllegalArgumentException.class)
        .hasMessage("the provider's stream is not a Messages stream: event 1 is a message_start without message.id");
  }

  @Property(tries = 500)
  void stream_anyDataGivesOutputOrAnIllegalArgumentException_neverAnotherFailure(@ForAll String data,
      @ForAll boolean asJson) {
    var s = new AnthropicTranslation.Stream("m", true);
    String event = asJson ? "{\"type\": " + Json.write(com.fasterxml.jackson.databind.node.TextNode.valueOf(data)) + "}" : data;
    byte[] bytes = ("data: " + event + "\n\n").getBytes(StandardCharsets.UTF_8);
    try {
      assertThat(s.feed(bytes, 0, bytes.length)).isNotNull();
    } catch (IllegalArgumentException expected) {
      assertThat(expected).hasMessageStartingWith("the provider's stream is not a Messages stream");
    }
  }
}

package dev.flightdeck.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlockParam;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.anthropic.models.messages.ToolResultBlockParam;
import com.anthropic.models.messages.ToolUseBlock;
import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The simulator's Anthropic Messages API over real HTTP, answered from the same rules as its
 * OpenAI API, with the official Anthropic Java client where a client would use it.
 */
class SimulatedLlmAnthropicIT {

  static final String MODEL = "claude-sonnet-4-5";
  /** The OpenAI test's scenario, serving a Claude model name: the same rules answer both APIs. */
  static final String SCENARIO = SimulatedLlmIT.SCENARIO.replace("models: [" + SimulatedLlmIT.MODEL + "]", "models: [" + MODEL + "]");

  static final SimulatedLlm sim = SimulatedLlm.start("127.0.0.1", 0, Scenario.parse("test.yaml", SCENARIO));
  /** The Anthropic SDK's base URL is the host: it adds /v1/messages itself. */
  static final AnthropicClient anthropic = AnthropicOkHttpClient.builder()
      .baseUrl(sim.baseUrl().replaceFirst("/v1$", "")).apiKey("sim-key").maxRetries(0).timeout(Duration.ofSeconds(10)).build();
  static final HttpClient http = HttpClient.newHttpClient();

  @AfterAll
  static void stop() {
    anthropic.close();
    sim.close();
  }

  private static MessageCreateParams.Builder ask(String text) {
    return MessageCreateParams.builder().model(MODEL).maxTokens(1024).system("You triage tickets.").addUserMessage(text);
  }

  @Test
  void toolUseRoundTripWithTheOfficialClient() {
    Message first = anthropic.messages().create(ask("My invoice is wrong").build());
    assertThat(first.stopReason()).contains(StopReason.TOOL_USE);
    ToolUseBlock call = first.content().stream().flatMap(b -> b.toolUse().stream()).findFirst().orElseThrow();
    assertThat(call.id()).startsWith("toolu_");
    assertThat(call.name()).isEqualTo("lookup_customer");
    assertThat(call._input().convert(JsonNode.class)).isEqualTo(Json.read("{\"email\": \"ana@example.com\"}"));

    Message answer = anthropic.messages().create(ask("My invoice is wrong")
        .addMessage(first)
        .addUserMessageOfContentBlockParams(List.of(ContentBlockParam.ofToolResult(
            ToolResultBlockParam.builder().toolUseId(call.id()).content("{\"plan\":\"pro\"}").build())))
        .build());
    assertThat(answer.stopReason()).contains(StopReason.END_TURN);
    assertThat(answer.content()).extracting(b -> b.text().orElseThrow().text())
        .containsExactly("billing: the invoice amount is wrong");
    assertThat(answer.id()).startsWith("msg_");
    assertThat(answer.usage().outputTokens()).isEqualTo(9); // 36 characters / 4
    assertThat(answer.usage().cacheReadInputTokens()).contains(12L);
    assertThat(answer.usage().inputTokens()).as("Anthropic counts cached input apart").isEqualTo(88);
    assertThat(sim.hits("lookup")).isPositive();
    assertThat(sim.hits("answer")).isPositive();
  }

  @Test
  void streamsWithTheOfficialClient() {
    MessageAccumulator accumulator = MessageAccumulator.create();
    List<String> pieces = new ArrayList<>();
    try (StreamResponse<RawMessageStreamEvent> s = anthropic.messages().createStreaming(ask("hello").build())) {
      s.stream().forEach(e -> {
        accumulator.accumulate(e);
        e.contentBlockDelta().flatMap(d -> d.delta().text()).ifPresent(t -> pieces.add(t.text()));
      });
    }
    Message message = accumulator.message();
    assertThat(message.content()).extracting(b -> b.text().orElseThrow().text()).containsExactly("general: I can help with that.");
    assertThat(pieces).hasSizeGreaterThan(5);
    assertThat(message.usage().outputTokens()).isEqualTo(8);
    assertThat(message.stopReason()).contains(StopReason.END_TURN);
  }

  private static HttpResponse<String> post(String body, Map<String, String> headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/messages")).timeout(Duration.ofSeconds(5))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(b::header);
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static final Map<String, String> HEADERS = Map.of("x-api-key", "sim-key", "anthropic-version", "2023-06-01");

  private static String messages(boolean stream, String messagesJson) {
    return "{\"model\":\"" + MODEL + "\",\"max_tokens\":256,\"stream\":" + stream + ",\"messages\":" + messagesJson + "}";
  }

  private static String user(String text, boolean stream) {
    return messages(stream, "[{\"role\":\"user\",\"content\":\"" + text + "\"}]");
  }

  /** A server-sent event as sent: its name and its data. */
  record Event(String name, JsonNode data) {}

  private static List<Event> events(String body) {
    List<Event> out = new ArrayList<>();
    for (String block : body.split("\n\n")) {
      String name = null;
      JsonNode data = null;
      for (String line : block.split("\n")) {
        if (line.startsWith("event: ")) {
          name = line.substring(7);
        } else if (line.startsWith("data: ")) {
          data = Json.read(line.substring(6));
        }
      }
      if (data != null) {
        out.add(new Event(name, data));
      }
    }
    return out;
  }

  @Test
  void streamedToolUseEventByEvent() throws Exception {
    HttpResponse<String> resp = post(user("My invoice is wrong", true), HEADERS);
    assertThat(resp.statusCode()).isEqualTo(200);
    assertThat(resp.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
    List<Event> events = events(resp.body());
    assertThat(events).allSatisfy(e -> assertThat(e.name()).isEqualTo(e.data().path("type").asText()));

    assertThat(events.get(0).name()).isEqualTo("message_start");
    JsonNode message = events.get(0).data().path("message");
    assertThat(message.path("id").asText()).startsWith("msg_");
    assertThat(message.path("content")).isEmpty();
    assertThat(message.path("stop_reason").isNull()).isTrue();
    assertThat(message.at("/usage/input_tokens").asLong()).isPositive();
    assertThat(message.at("/usage/cache_read_input_tokens").asLong()).isZero();

    assertThat(events.get(1).name()).isEqualTo("content_block_start");
    JsonNode block = events.get(1).data().path("content_block");
    assertThat(block.path("type").asText()).isEqualTo("tool_use");
    assertThat(block.path("id").asText()).startsWith("toolu_");
    assertThat(block.path("name").asText()).isEqualTo("lookup_customer");
    assertThat(block.path("input")).isEmpty();

    List<Event> deltas = events.subList(2, events.size() - 3);
    assertThat(deltas).hasSizeGreaterThan(1).allSatisfy(e -> {
      assertThat(e.name()).isEqualTo("content_block_delta");
      assertThat(e.data().path("index").asInt()).isZero();
      assertThat(e.data().at("/delta/type").asText()).isEqualTo("input_json_delta");
    });
    StringBuilder input = new StringBuilder();
    deltas.forEach(e -> input.append(e.data().at("/delta/partial_json").asText()));
    assertThat(Json.read(input.toString()).path("email").asText()).isEqualTo("ana@example.com");

    assertThat(events.subList(events.size() - 3, events.size())).extracting(Event::name)
        .containsExactly("content_block_stop", "message_delta", "message_stop");
    JsonNode delta = events.get(events.size() - 2).data();
    assertThat(delta.at("/delta/stop_reason").asText()).isEqualTo("tool_use");
    assertThat(delta.at("/usage/output_tokens").asLong()).isPositive();
  }

  @Test
  void streamedTextHasAPingAfterTheBlockStartsAsTheApiSends() throws Exception {
    List<Event> events = events(post(user("hello", true), HEADERS).body());
    assertThat(events).extracting(Event::name).startsWith("message_start", "content_block_start", "ping", "content_block_delta")
        .endsWith("content_block_delta", "content_block_stop", "message_delta", "message_stop");
    StringBuilder text = new StringBuilder();
    events.stream().filter(e -> e.name().equals("content_block_delta"))
        .forEach(e -> text.append(e.data().at("/delta/text").asText()));
    assertThat(text.toString()).isEqualTo("general: I can help with that.");
    assertThat(events.get(events.size() - 2).data().at("/delta/stop_reason").asText()).isEqualTo("end_turn");
  }

  /** The user asked, the model called lookup_customer (toolu_a) and search (toolu_b), results came back in the given order. */
  private static String afterTools(String firstResult, String lastResult, String userAfter) {
    return messages(false, """
        [{"role": "user", "content": [{"type": "text", "text": "My invoice is wrong"}]},
         {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_a", "name": "lookup_customer", "input": {}},
                                           {"type": "tool_use", "id": "toolu_b", "name": "search", "input": {}}]},
         {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "%s", "content": "x"},
                                      {"type": "tool_result", "tool_use_id": "%s", "content": [{"type": "text", "text": "pro"}]}
                                      %s]}]""".formatted(firstResult, lastResult,
        userAfter == null ? "" : ", {\"type\": \"text\", \"text\": \"" + userAfter + "\"}"));
  }

  @Test
  void rulesMatchAnthropicShapedConversations() throws Exception {
    // The tool is named through the id of the tool_use block that called it; the last result counts.
    assertThat(Json.read(post(afterTools("toolu_b", "toolu_a", null), HEADERS).body()).at("/content/0/text").asText())
        .isEqualTo("billing: the invoice amount is wrong");
    assertThat(Json.read(post(afterTools("toolu_a", "toolu_b", null), HEADERS).body()).at("/content/0/text").asText())
        .isEqualTo("some other tool answered");
    // Text after the results is the user speaking again: the last role is user, and the lookup rule asks again.
    assertThat(Json.read(post(afterTools("toolu_b", "toolu_a", "the invoice, again"), HEADERS).body())
        .at("/content/0/type").asText()).isEqualTo("tool_use");
    // The system prompt is Anthropic's top-level system, a string or text blocks.
    String escalate = user("hello", false).replaceFirst("^\\{", "{\"system\": [{\"type\": \"text\", \"text\": \"Escalate.\"}], ");
    assertThat(Json.read(post(escalate, HEADERS).body()).at("/content/0/text").asText())
        .isEqualTo("escalations: the system prompt said so");
  }

  @Test
  void faultsInAnthropicsShape() throws Exception {
    HttpResponse<String> flaky = post(user("flaky", false), HEADERS);
    assertThat(flaky.statusCode()).isEqualTo(503);
    assertThat(Json.read(flaky.body())).isEqualTo(Json.read("""
        {"type": "error", "error": {"type": "api_error", "message": "simulated fault (rule flaky)"}}"""));
    HttpResponse<String> overloaded = post(user("overloaded", true), HEADERS);
    assertThat(overloaded.statusCode()).isEqualTo(529);
    assertThat(Json.read(overloaded.body()).at("/error/type").asText()).isEqualTo("overloaded_error");
    HttpResponse<String> limited = post(user("limited", false), HEADERS);
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(Json.read(limited.body()).at("/error/type").asText()).isEqualTo("rate_limit_error");

    HttpResponse<String> broken = post(user("broken", false), HEADERS);
    assertThat(broken.statusCode()).isEqualTo(200);
    assertThat(broken.body()).startsWith("{\"id\":\"msg_sim\"");
    assertThat(broken.body()).doesNotEndWith("}");

    List<String> names = new ArrayList<>();
    for (String line : RawHttp.post(URI.create(sim.baseUrl()), "/messages", HEADERS, user("cut", true)).split("\r?\n")) {
      if (line.startsWith("event: ")) {
        names.add(line.substring(7));
      }
    }
    assertThat(names).containsExactly("message_start", "content_block_start", "ping");
  }

  @Test
  void badRequestsGetAnthropicErrors() throws Exception {
    HttpResponse<String> noVersion = post(user("hello", false), Map.of("x-api-key", "sim-key"));
    assertThat(noVersion.statusCode()).isEqualTo(400);
    assertThat(Json.read(noVersion.body())).isEqualTo(Json.read("""
        {"type": "error", "error": {"type": "invalid_request_error", "message": "anthropic-version: header is required"}}"""));

    HttpResponse<String> noMaxTokens = post("{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", HEADERS);
    assertThat(noMaxTokens.statusCode()).isEqualTo(400);
    assertThat(Json.read(noMaxTokens.body()).at("/error/message").asText()).isEqualTo("max_tokens: Field required");

    HttpResponse<String> unknown = post(user("hello", false).replace(MODEL, "claude-2"), HEADERS);
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(Json.read(unknown.body()).at("/error/type").asText()).isEqualTo("not_found_error");
    assertThat(Json.read(unknown.body()).at("/error/message").asText()).startsWith("model: claude-2");

    HttpResponse<String> notJson = post("{not json", HEADERS);
    assertThat(notJson.statusCode()).isEqualTo(400);
    assertThat(Json.read(notJson.body()).path("type").asText()).isEqualTo("error");
    assertThat(Json.read(notJson.body()).at("/error/type").asText()).isEqualTo("invalid_request_error");

    HttpResponse<String> empty = post(messages(false, "[]"), HEADERS);
    assertThat(empty.statusCode()).isEqualTo(400);
  }
}

package dev.flightdeck.gateway.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.gateway.telemetry.Usage;
import dev.flightdeck.sim.Scenario;
import dev.flightdeck.sim.SimulatedLlm;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * OpenAI requests translated for the simulated LLM's Anthropic API, and its answers translated
 * back, over real HTTP: both halves of the translation agree with a Messages server.
 */
class AnthropicTranslationIT {

  static final SimulatedLlm sim = SimulatedLlm.start("127.0.0.1", 0, Scenario.parse("anthropic.yaml", """
      models: [claude-sonnet-4-5]
      latency: {perChunk: 1ms}
      rules:
        - {name: ask-weather, when: {user: "(?i)weather", lastRole: user},
           toolCalls: [{name: get_weather, arguments: {location: "San Francisco, CA"}}]}
        - {name: report, when: {tool: get_weather}, reply: "It is 15 degrees in San Francisco",
           usage: {promptTokens: 100, completionTokens: 9, cachedTokens: 12}}
        - {name: overloaded, when: {user: overloaded}, fault: {kind: status, status: 529}}
      default: {reply: "I can help with that."}
      """));
  static final HttpClient http = HttpClient.newHttpClient();

  @AfterAll
  static void stop() {
    sim.close();
  }

  private static HttpResponse<InputStream> send(String openAiChat) throws Exception {
    byte[] body = AnthropicTranslation.request((ObjectNode) Json.read(openAiChat), "claude-sonnet-4-5", 1024);
    return http.send(HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/messages")).timeout(Duration.ofSeconds(10))
        .header("content-type", "application/json").header("anthropic-version", "2023-06-01").header("x-api-key", "k")
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofInputStream());
  }

  private static JsonNode answer(String openAiChat) throws Exception {
    HttpResponse<InputStream> resp = send(openAiChat);
    byte[] body = resp.body().readAllBytes();
    byte[] translated = resp.statusCode() == 200 ? AnthropicTranslation.response(body, "support-model")
        : AnthropicTranslation.error(resp.statusCode(), body);
    return Json.read(new String(translated, StandardCharsets.UTF_8));
  }

  static final String ASK = """
      {"model": "support-model", "messages": [
        {"role": "system", "content": "You answer briefly."},
        {"role": "user", "content": "What is the weather in San Francisco?"}%s],
       "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]%s}""";

  @Test
  void toolLoopRoundTrip() throws Exception {
    JsonNode first = answer(ASK.formatted("", ""));
    assertThat(first.at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
    JsonNode call = first.at("/choices/0/message/tool_calls/0");
    assertThat(call.path("id").asText()).startsWith("toolu_");
    assertThat(Json.read(call.at("/function/arguments").asText()).path("location").asText()).isEqualTo("San Francisco, CA");

    String loop = ", " + Json.write(first.at("/choices/0/message"))
        + ", {\"role\": \"tool\", \"tool_call_id\": \"" + call.path("id").asText() + "\", \"content\": \"15 degrees\"}";
    JsonNode second = answer(ASK.formatted(loop, ""));
    assertThat(second.at("/choices/0/message/content").asText()).isEqualTo("It is 15 degrees in San Francisco");
    assertThat(second.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
    assertThat(second.path("model").asText()).isEqualTo("support-model");
    assertThat(second.path("usage")).isEqualTo(Json.read("""
        {"prompt_tokens": 100, "completion_tokens": 9, "total_tokens": 109, "prompt_tokens_details": {"cached_tokens": 12}}"""));
  }

  @Test
  void streamTranslatedAsItArrives() throws Exception {
    String loop = ", {\"role\": \"assistant\", \"tool_calls\": [{\"id\": \"toolu_x\", \"type\": \"function\","
        + " \"function\": {\"name\": \"get_weather\", \"arguments\": \"{}\"}}]},"
        + " {\"role\": \"tool\", \"tool_call_id\": \"toolu_x\", \"content\": \"15 degrees\"}";
    HttpResponse<InputStream> resp = send(ASK.formatted(loop, ", \"stream\": true, \"stream_options\": {\"include_usage\": true}"));
    assertThat(resp.statusCode()).isEqualTo(200);
    var stream = new AnthropicTranslation.Stream("support-model", true);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buffer = new byte[7];
    try (InputStream in = resp.body()) {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        out.writeBytes(stream.feed(buffer, 0, n));
      }
    }
    assertThat(stream.finished()).isTrue();
    assertThat(stream.usage()).isEqualTo(new Usage(100, 9, 12, -1));
    StringBuilder text = new StringBuilder();
    JsonNode last = null;
    for (String event : out.toString(StandardCharsets.UTF_8).split("\n\n")) {
      assertThat(event).startsWith("data: ");
      if (!event.equals("data: [DONE]")) {
        last = Json.read(event.substring(6));
        text.append(last.at("/choices/0/delta/content").asText(""));
      }
    }
    assertThat(text.toString()).isEqualTo("It is 15 degrees in San Francisco");
    assertThat(last.path("usage").path("prompt_tokens").asLong()).isEqualTo(100);
    assertThat(out.toString(StandardCharsets.UTF_8)).endsWith("data: [DONE]\n\n");
  }

  @Test
  void overloadedBecomesAnOpenAiServerError() throws Exception {
    JsonNode error = answer("""
        {"messages": [{"role": "user", "content": "overloaded"}]}""");
    assertThat(error.at("/error/type").asText()).isEqualTo("server_error");
    assertThat(error.at("/error/code").asText()).isEqualTo("overloaded_error");
    assertThat(error.at("/error/message").asText()).isEqualTo("simulated fault (rule overloaded)");
  }
}

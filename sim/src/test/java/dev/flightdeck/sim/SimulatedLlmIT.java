package dev.flightdeck.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.embeddings.EmbeddingCreateParams;
import dev.flightdeck.api.resource.Json;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The simulator over real HTTP, with the official OpenAI Java client where a client would use it. */
class SimulatedLlmIT {

  static final String MODEL = "gpt-4o-mini-2024-07-18";
  static final String SCENARIO = """
      models: [gpt-4o-mini-2024-07-18]
      seed: 7
      latency: {distribution: uniform, min: 1ms, max: 5ms, perChunk: 1ms}
      rules:
        - name: escalate-by-prompt
          when: {system: "(?i)escalate", lastRole: user}
          reply: "escalations: the system prompt said so"
        - name: lookup
          when: {user: "(?i)invoice", lastRole: user}
          toolCalls: [{name: lookup_customer, arguments: {email: "ana@example.com"}}]
        - name: answer
          when: {tool: lookup_customer}
          reply: "billing: the invoice amount is wrong"
          usage: {promptTokens: 100, cachedTokens: 12}
        - name: flaky
          when: {user: flaky}
          fault: {kind: status, status: 503}
        - name: overloaded
          when: {user: overloaded}
          fault: {kind: status, status: 529}
        - name: limited
          when: {user: limited}
          fault: {kind: status, status: 429}
        - name: broken
          when: {user: broken}
          fault: {kind: malformed}
        - name: cut
          when: {user: cut}
          reply: "one two three four five six"
          fault: {kind: cut, afterChunks: 3}
        - name: hang
          when: {user: hang}
          fault: {kind: timeout, duration: 3s}
        - name: burn
          when: {user: burn}
          reply: "spend"
          usage: {promptTokens: 10, completionTokens: 100}
          fault: {kind: burn, factor: 30}
        - name: loop
          when: {user: loop}
          toolCalls: [{name: search, arguments: {q: "same"}}]
        - name: other-tool
          when: {lastRole: tool}
          reply: "some other tool answered"
      default:
        reply: "general: I can help with that."
      """;

  static SimulatedLlm sim;
  static OpenAIClient openai;
  static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() {
    sim = SimulatedLlm.start("127.0.0.1", 0, Scenario.parse("test.yaml", SCENARIO));
    openai = OpenAIOkHttpClient.builder().baseUrl(sim.baseUrl()).apiKey("sim-key").maxRetries(0)
        .timeout(Duration.ofSeconds(10)).build();
  }

  @AfterAll
  static void stop() {
    openai.close();
    sim.close();
  }

  private static ChatCompletionCreateParams.Builder ask(String text) {
    return ChatCompletionCreateParams.builder().model(MODEL).addSystemMessage("You triage tickets.").addUserMessage(text);
  }

  @Test
  void toolCallThenAnswerWithTheOfficialClient() {
    ChatCompletion first = openai.chat().completions().create(ask("My invoice is wrong").build());
    assertThat(first.choices().get(0).finishReason().asString()).isEqualTo("tool_calls");
    ChatCompletionMessageFunctionToolCall call = first.choices().get(0).message().toolCalls().orElseThrow().get(0).asFunction();
    assertThat(call.function().name()).isEqualTo("lookup_customer");
    assertThat(Json.read(call.function().arguments()).path("email").asText()).isEqualTo("ana@example.com");

    ChatCompletion answer = openai.chat().completions().create(ask("My invoice is wrong")
        .addMessage(first.choices().get(0).message())
        .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("{\"plan\":\"pro\"}").build())
        .build());
    assertThat(answer.choices().get(0).message().content()).contains("billing: the invoice amount is wrong");
    assertThat(answer.usage().orElseThrow().promptTokens()).isEqualTo(100);
    assertThat(answer.usage().orElseThrow().completionTokens()).isEqualTo(9); // 36 characters / 4
    assertThat(answer.usage().orElseThrow().promptTokensDetails().orElseThrow().cachedTokens()).contains(12L);
    assertThat(sim.hits("lookup")).isPositive();
    assertThat(sim.hits("answer")).isPositive();
  }

  @Test
  void rulesMatchTheSystemPrompt() {
    ChatCompletion escalated = openai.chat().completions().create(ChatCompletionCreateParams.builder().model(MODEL)
        .addSystemMessage("You triage tickets.").addDeveloperMessage("Escalate everything.").addUserMessage("hello").build());
    assertThat(escalated.choices().get(0).message().content()).contains("escalations: the system prompt said so");
    ChatCompletion plain = openai.chat().completions().create(ask("hello").build());
    assertThat(plain.choices().get(0).message().content()).contains("general: I can help with that.");
    ChatCompletion none = openai.chat().completions().create(ChatCompletionCreateParams.builder().model(MODEL)
        .addUserMessage("escalate this").build());
    assertThat(none.choices().get(0).message().content()).contains("general: I can help with that.");
  }

  @Test
  void streamsChunkByChunkWithUsageLastWithTheOfficialClient() {
    StringBuilder text = new StringBuilder();
    AtomicReference<Long> tokens = new AtomicReference<>();
    List<String> pieces = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> s = openai.chat().completions().createStreaming(ask("hello")
        .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
      s.stream().forEach(chunk -> {
        chunk.choices().forEach(c -> c.delta().content().ifPresent(p -> {
          text.append(p);
          pieces.add(p);
        }));
        chunk.usage().ifPresent(u -> tokens.set(u.completionTokens()));
      });
    }
    assertThat(text.toString()).isEqualTo("general: I can help with that.");
    assertThat(pieces).hasSizeGreaterThan(5);
    assertThat(tokens.get()).isEqualTo(8L);
  }

  @Test
  void modelsAndEmbeddingsWithTheOfficialClient() {
    assertThat(openai.models().list().items()).extracting(m -> m.id()).containsExactly(MODEL);
    List<Float> a = openai.embeddings().create(EmbeddingCreateParams.builder().model("sim-embedding")
        .input("the invoice amount is wrong").build()).data().get(0).embedding();
    List<Float> b = openai.embeddings().create(EmbeddingCreateParams.builder().model("sim-embedding")
        .input("wrong invoice amount").build()).data().get(0).embedding();
    List<Float> c = openai.embeddings().create(EmbeddingCreateParams.builder().model("sim-embedding")
        .input("sunny weather in Lisbon").build()).data().get(0).embedding();
    assertThat(a).hasSize(256);
    assertThat(dot(a, b)).isGreaterThan(dot(a, c) + 0.3);
  }

  private static double dot(List<Float> a, List<Float> b) {
    double d = 0;
    for (int i = 0; i < a.size(); i++) {
      d += a.get(i) * b.get(i);
    }
    return d;
  }

  private static HttpResponse<String> post(String body, Duration timeout) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/chat/completions")).timeout(timeout)
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static String chat(String user, boolean stream) {
    return "{\"model\":\"" + MODEL + "\",\"stream\":" + stream + ",\"messages\":[{\"role\":\"user\",\"content\":\"" + user + "\"}]}";
  }

  @Test
  void faultsOnDemand() throws Exception {
    HttpResponse<String> flaky = post(chat("flaky", false), Duration.ofSeconds(5));
    assertThat(flaky.statusCode()).isEqualTo(503);
    assertThat(Json.read(flaky.body()).path("error").path("code").asText()).isEqualTo("simulated_503");

    HttpResponse<String> broken = post(chat("broken", false), Duration.ofSeconds(5));
    assertThat(broken.statusCode()).isEqualTo(200);
    assertThatThrownBy(() -> Json.mapper().readTree(broken.body())).isInstanceOf(java.io.IOException.class);

    assertThatThrownBy(() -> post(chat("hang", false), Duration.ofMillis(300))).isInstanceOf(HttpTimeoutException.class);

    // A cut stream: some events, then the connection ends without [DONE].
    List<String> events = new ArrayList<>();
    for (String line : RawHttp.post(URI.create(sim.baseUrl()), "/chat/completions", Map.of(), chat("cut", true)).split("\r?\n")) {
      if (line.startsWith("data: ")) {
        events.add(line);
      }
    }
    assertThat(events).hasSize(3).noneMatch(e -> e.contains("[DONE]"));

    // Token burn: the answer and its usage are 30 times larger.
    JsonNode burn = Json.read(post(chat("burn", false), Duration.ofSeconds(5)).body());
    assertThat(burn.path("usage").path("completion_tokens").asLong()).isEqualTo(3000);
    assertThat(burn.at("/choices/0/message/content").asText()).hasSize(30 * 5 + 29);

    // The same tool call forever, whatever the tool answered.
    String afterTool = "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"loop\"},"
        + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"search\",\"arguments\":\"{}\"}}]},"
        + "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"nothing\"}]}";
    assertThat(Json.read(post(afterTool, Duration.ofSeconds(5)).body()).at("/choices/0/message/tool_calls/0/function/name").asText())
        .isEqualTo("search");
  }

  @Test
  void badRequestsGetOpenAiStyleErrors() throws Exception {
    HttpResponse<String> unknown = post("{\"model\":\"gpt-latest\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
        Duration.ofSeconds(5));
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(Json.read(unknown.body()).path("error").path("code").asText()).isEqualTo("model_not_found");
    assertThat(post("{not json", Duration.ofSeconds(5)).statusCode()).isEqualTo(400);
    assertThat(post("{\"model\":\"" + MODEL + "\",\"messages\":[]}", Duration.ofSeconds(5)).statusCode()).isEqualTo(400);
    HttpResponse<String> nowhere = http.send(HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/nowhere")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(nowhere.statusCode()).isEqualTo(404);
    assertThat(Json.read(nowhere.body()).path("error").path("message").asText()).contains("/v1/chat/completions");
  }
}

package dev.flightdeck.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageToolCall;
import com.openai.models.embeddings.EmbeddingCreateParams;
import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.parse.ResourceReader;
import dev.flightdeck.sim.Scenario;
import dev.flightdeck.sim.SimulatedLlm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The official clients against the model gateway of a real server, with the simulated LLM as the
 * provider: openai-java here, and the openai npm package through Node (installed with npm from
 * the lock file the first time).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ModelCompatIT {

  private static final String MODEL = "gpt-4o-mini-2024-07-18";

  @TempDir
  static Path dir;
  FlightdeckServer fd;
  SimulatedLlm sim;
  String key;
  String baseUrl;

  @BeforeAll
  void start() throws IOException {
    String scenario = Files.readString(Path.of("../examples/sim/support-triage.yaml"))
        .replace("models: [gpt-4o-mini-2024-07-18]", "models: [gpt-4o-mini-2024-07-18, text-embedding-3-small]")
        .replaceAll("(?m)^latency: .*$", "latency: {value: 1ms}");
    sim = SimulatedLlm.start("127.0.0.1", 0, Scenario.parse("support-triage.yaml", scenario));
    fd = FlightdeckServer.start(ServerOptions.embedded(dir));
    String yaml = Files.readString(Path.of("../examples/support-triage.yaml"))
        + "\n---\n" + Files.readString(Path.of("../examples/models/gateway.yaml")).replace("http://127.0.0.1:8089/v1", sim.baseUrl())
        .replace("    - {id: gpt-4o-mini-2024-07-18,", "    - {id: text-embedding-3-small, input: 0.02, output: 0}\n    - {id: gpt-4o-mini-2024-07-18,")
        + "\n---\n" + """
            apiVersion: flightdeck.dev/v1alpha1
            kind: AgentVersion
            metadata: {name: support-triage-compat}
            spec:
              agent: support-triage
              endpoints: [{url: "http://127.0.0.1:9109"}]
              models: [{id: gpt-4o-mini-2024-07-18}, {id: text-embedding-3-small}]
            """;
    fd.resources().apply(new ResourceReader().read(ResourceReader.Source.of("compat.yaml", yaml)), Principal.SYSTEM, false);
    key = fd.modelKeys().create("support-triage", "support-triage-compat", "compat", Principal.SYSTEM).secret();
    fd.gateway().orElseThrow().reload();
    fd.gateway().orElseThrow().models().housekeeping();
    baseUrl = fd.gatewayUrl().orElseThrow() + "/v1";
  }

  @AfterAll
  void stop() {
    if (fd != null) {
      fd.close();
    }
    if (sim != null) {
      sim.close();
    }
  }

  @Test
  void openAiJavaChatsStreamsCallsToolsAndEmbeds() {
    OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(baseUrl).apiKey(key).maxRetries(0)
        .putHeader("X-Flightdeck-Session", "java-compat").build();
    ChatCompletion first = client.chat().completions().create(ChatCompletionCreateParams.builder()
        .model(MODEL).addUserMessage("my invoice is wrong").build());
    ChatCompletionMessageToolCall call = first.choices().get(0).message().toolCalls().orElseThrow().get(0);
    assertThat(call.asFunction().function().name()).isEqualTo("lookup_customer");
    ChatCompletion second = client.chat().completions().create(ChatCompletionCreateParams.builder()
        .model(MODEL).addUserMessage("my invoice is wrong")
        .addMessage(first.choices().get(0).message())
        .addMessage(com.openai.models.chat.completions.ChatCompletionToolMessageParam.builder()
            .toolCallId(call.asFunction().id()).content("{\"plan\":\"pro\"}").build())
        .build());
    assertThat(second.choices().get(0).message().content().orElseThrow()).startsWith("billing");
    assertThat(second.usage().orElseThrow().totalTokens()).isPositive();

    StringBuilder text = new StringBuilder();
    long[] usage = {0};
    try (StreamResponse<ChatCompletionChunk> s = client.chat().completions().createStreaming(
        ChatCompletionCreateParams.builder().model(MODEL).addUserMessage("the site is down")
            .streamOptions(com.openai.models.chat.completions.ChatCompletionStreamOptions.builder().includeUsage(true).build())
            .build())) {
      s.stream().forEach(c -> {
        c.choices().forEach(ch -> ch.delta().content().ifPresent(text::append));
        c.usage().ifPresent(u -> usage[0] = u.completionTokens());
      });
    }
    assertThat(text.toString()).startsWith("incidents");
    assertThat(usage[0]).isPositive();

    var emb = client.embeddings().create(EmbeddingCreateParams.builder().model("text-embedding-3-small")
        .input("hello").build());
    assertThat(emb.data().get(0).embedding()).isNotEmpty();

    assertThatThrownBy(() -> client.chat().completions().create(ChatCompletionCreateParams.builder()
        .model("gpt-4o-latest").addUserMessage("hi").build()))
        .isInstanceOf(BadRequestException.class).hasMessageContaining("is not pinned by agent version");
  }

  @Test
  void theOpenAiNpmClientTalksToTheGateway() throws Exception {
    Path src = Path.of("src/test/node/openai-compat").toAbsolutePath();
    Path work = Path.of("target/node/openai-compat").toAbsolutePath();
    Files.createDirectories(work);
    for (String f : List.of("package.json", "package-lock.json", "compat.mjs")) {
      Files.copy(src.resolve(f), work.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    if (!Files.isDirectory(work.resolve("node_modules/openai"))) {
      run(work, Duration.ofMinutes(3), "npm", "ci", "--no-audit", "--no-fund");
    }
    String out = run(work, Duration.ofMinutes(1), "node", "compat.mjs", baseUrl, key, MODEL);
    assertThat(out).contains("\"chat\":\"billing").contains("\"stream\":\"incidents").contains("\"error\":\"model_not_allowed\"");
  }

  private static String run(Path dir, Duration timeout, String... command) throws Exception {
    Process p;
    try {
      p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new AssertionError(command[0] + " is not installed; the compatibility test needs Node.js 20+ and npm"
          + " (Debian: apt-get install -y nodejs npm)", e);
    }
    try {
      byte[] out = p.getInputStream().readAllBytes();
      assertThat(p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)).as(String.join(" ", command) + " finished").isTrue();
      String text = new String(out, StandardCharsets.UTF_8);
      assertThat(p.exitValue()).as(String.join(" ", command) + ":\n" + text).isZero();
      return text;
    } finally {
      p.destroyForcibly();
    }
  }
}

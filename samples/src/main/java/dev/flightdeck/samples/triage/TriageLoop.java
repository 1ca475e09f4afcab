package dev.flightdeck.samples.triage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.OpenAIException;
import com.openai.errors.OpenAIServiceException;
import com.openai.models.FunctionDefinition;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessage;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionMessageToolCall;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import dev.flightdeck.api.resource.Json;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The agent loop: the system prompt and the ticket go to the model with the tools; each tool call
 * the model asks for is run and its result sent back, until the model answers in text or the
 * version's {@code maxToolCalls} is spent. Every model call carries the request's session header,
 * so a gateway can attribute its tokens and stop a loop. It never retries a call the gateway
 * marked final (openai-java honours {@code x-should-retry: false}).
 */
final class TriageLoop implements AutoCloseable {

  /** The session header the Flightdeck gateway gives each agent request. */
  static final String SESSION_HEADER = "X-Flightdeck-Session";

  static final long MAX_COMPLETION_TOKENS = 512;

  /** What one ticket came to: a 200 body, or an error status and body. */
  sealed interface Outcome {
    /** The model answered. */
    record Answered(ObjectNode body) implements Outcome {}

    /** The ticket could not be answered; {@code body} is {@code {"error": {code, message}}} with what was done. */
    record Failed(int status, ObjectNode body) implements Outcome {}
  }

  private final TriageConfig config;
  private final OpenAIClient client;
  private final String systemPrompt;
  private final List<FunctionDefinition> tools = Tools.definitions();

  TriageLoop(TriageConfig config) {
    this.config = config;
    this.client = OpenAIOkHttpClient.builder()
        .baseUrl(config.modelBaseUrl().toString())
        .apiKey(config.apiKey())
        .timeout(Duration.ofSeconds(60))
        .build();
    this.systemPrompt = config.knowledgeBaseInPrompt()
        ? config.systemPrompt() + "\n\nKnowledge base:\n" + Tools.knowledgeBaseText()
        : config.systemPrompt();
  }

  String version() {
    return config.version();
  }

  /** Triages one ticket; {@code session} is forwarded on every model call. */
  Outcome triage(String ticket, Optional<String> session) {
    ChatCompletionCreateParams.Builder params = ChatCompletionCreateParams.builder()
        .model(config.model())
        .temperature(config.temperature())
        // A one-line answer or a tool call: a cap keeps the gateway's budget reservation honest.
        .maxCompletionTokens(MAX_COMPLETION_TOKENS)
        .addSystemMessage(systemPrompt)
        .addUserMessage(ticket);
    tools.forEach(t -> params.addTool(ChatCompletionFunctionTool.builder().function(t).build()));
    session.ifPresent(s -> params.putAdditionalHeader(SESSION_HEADER, s));
    ArrayNode trajectory = Json.mapper().createArrayNode();
    Usage usage = new Usage();
    int toolCalls = 0;
    while (true) {
      ChatCompletion completion;
      try {
        completion = client.chat().completions().create(params.build());
      } catch (OpenAIServiceException e) {
        int status = e.statusCode() == 429 ? 429 : 502;
        String code = e.code().orElse(e.statusCode() == 429 ? "rate_limited" : "model_error");
        String detail = String.valueOf(e.getMessage()).replaceFirst("^\\d{3}: ", "");
        return failed(status, code, "the model call failed with HTTP " + e.statusCode() + ": " + detail,
            trajectory, usage);
      } catch (OpenAIException e) {
        return failed(502, "model_unreachable", "the model call failed: " + e.getMessage(), trajectory, usage);
      }
      usage.add(completion);
      if (completion.choices().isEmpty()) {
        return failed(502, "model_error", "the model answered no choices", trajectory, usage);
      }
      ChatCompletionMessage message = completion.choices().get(0).message();
      List<ChatCompletionMessageToolCall> calls = message.toolCalls().orElse(List.of());
      if (calls.isEmpty()) {
        String answer = message.content().orElse("").strip();
        if (answer.isEmpty()) {
          return failed(502, "empty_answer", "the model answered neither text nor tool calls", trajectory, usage);
        }
        ObjectNode body = Json.object().put("queue", queue(answer)).put("answer", answer);
        body.set("trajectory", trajectory);
        body.set("usage", usage.json());
        body.put("version", config.version());
        return new Outcome.Answered(body);
      }
      if (toolCalls + calls.size() > config.maxToolCalls()) {
        return failed(502, "too_many_tool_calls", "the model asked for more than " + config.maxToolCalls()
            + " tool calls (spec.config.maxToolCalls) without answering", trajectory, usage);
      }
      params.addMessage(message);
      for (ChatCompletionMessageToolCall call : calls) {
        toolCalls++;
        if (!call.isFunction()) {
          return failed(502, "model_error", "the model asked for a custom tool call; this agent has functions only",
              trajectory, usage);
        }
        ChatCompletionMessageFunctionToolCall f = call.asFunction();
        String name = f.function().name();
        JsonNode args;
        JsonNode result;
        try {
          args = Json.mapper().readTree(f.function().arguments());
          result = args != null && args.isObject() ? Tools.run(name, args, ticket)
              : Json.object().put("error", "arguments must be a JSON object");
        } catch (com.fasterxml.jackson.core.JacksonException e) {
          args = Json.object();
          result = Json.object().put("error", "arguments are not valid JSON: " + e.getOriginalMessage());
        }
        String text = Json.write(result);
        ObjectNode step = trajectory.addObject().put("tool", name);
        step.set("args", args == null ? Json.object() : args);
        step.put("result", text);
        if (result.has("error")) {
          step.put("error", true);
        }
        params.addMessage(ChatCompletionToolMessageParam.builder().toolCallId(f.id()).content(text).build());
      }
    }
  }

  /** The queue is the first word of the answer, before its colon; answers without one go to general. */
  static String queue(String answer) {
    int colon = answer.indexOf(':');
    String head = colon < 0 ? "" : answer.substring(0, colon).strip().toLowerCase(Locale.ROOT);
    return head.matches("[a-z][a-z0-9_-]*") ? head : "general";
  }

  private Outcome failed(int status, String code, String message, ArrayNode trajectory, Usage usage) {
    ObjectNode body = Json.object();
    body.putObject("error").put("code", code).put("message", message);
    body.set("trajectory", trajectory);
    body.set("usage", usage.json());
    body.put("version", config.version());
    return new Outcome.Failed(status, body);
  }

  @Override
  public void close() {
    client.close();
  }

  /** Tokens over the ticket's model calls. */
  private static final class Usage {
    long calls;
    long prompt;
    long completion;
    long total;

    void add(ChatCompletion c) {
      calls++;
      c.usage().ifPresent(u -> {
        prompt += u.promptTokens();
        completion += u.completionTokens();
        total += u.totalTokens();
      });
    }

    ObjectNode json() {
      return Json.object().put("model_calls", calls).put("prompt_tokens", prompt).put("completion_tokens", completion)
          .put("total_tokens", total);
    }
  }
}

package dev.flightdeck.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * A model server driven by a {@link Scenario}: OpenAI's {@code /v1/chat/completions} and
 * Anthropic's {@code /v1/messages} (streaming and not, tool calls, usage with cached tokens),
 * {@code /v1/models} and {@code /v1/embeddings}, with latency drawn from a distribution and
 * faults on demand. Both chat APIs answer from the same rules; they differ only in shape. Each
 * request runs on its own virtual thread, so simulated latency costs no platform thread.
 */
public final class SimulatedLlm implements AutoCloseable {

  private static final int MAX_BODY = 8 * 1024 * 1024;
  private static final int EMBEDDING_DIMENSIONS = 256;

  private final Server server;
  private final ServerConnector connector;
  private volatile Scenario scenario;
  private final AtomicLong requests = new AtomicLong();
  private final Map<String, AtomicLong> hits = new ConcurrentHashMap<>();

  /** The chat APIs the simulator speaks: what a rule decides is the same, the shapes differ. */
  private enum Api { OPENAI, ANTHROPIC }

  /**
   * What the matching rule answers to one request, once its latency has passed and no fault has
   * answered instead; {@code cutAfter} is the number of chunks before a cut fault, or -1.
   */
  private record Answer(String reply, List<Scenario.ToolCall> calls, long prompt, long completion, long cached,
      Duration perChunk, int cutAfter) {}

  private SimulatedLlm(String host, int port, Scenario scenario) {
    this.scenario = scenario;
    QueuedThreadPool pool = new QueuedThreadPool(64, 4);
    pool.setName("flightdeck-sim");
    pool.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server = new Server(pool);
    connector = new ServerConnector(server, 1, 1);
    connector.setHost(host);
    connector.setPort(port);
    connector.setIdleTimeout(Duration.ofMinutes(15).toMillis());
    server.addConnector(connector);
    server.setHandler(new Handler.Abstract() {
      @Override
      public boolean handle(Request req, Response resp, Callback cb) {
        long n = requests.incrementAndGet();
        try {
          route(req, resp, cb, n);
        } catch (IOException | RuntimeException e) {
          if (!resp.isCommitted()) {
            Api api = Request.getPathInContext(req).equals("/v1/messages") ? Api.ANTHROPIC : Api.OPENAI;
            error(api, resp, cb, 500, "simulator_error", "the simulator failed: " + e.getMessage());
          } else {
            cb.failed(e);
          }
        }
        return true;
      }
    });
  }

  /** Starts a simulator on {@code host:port} (0 picks a free port). */
  public static SimulatedLlm start(String host, int port, Scenario scenario) {
    SimulatedLlm s = new SimulatedLlm(host, port, scenario);
    try {
      s.server.start();
    } catch (Exception e) {
      s.close();
      throw new IllegalStateException("cannot start the simulated LLM on " + host + ":" + port + ": " + e.getMessage(), e);
    }
    return s;
  }

  /** The OpenAI base URL, e.g. {@code http://127.0.0.1:8089/v1}. */
  public String baseUrl() {
    return "http://" + connector.getHost() + ":" + port() + "/v1";
  }

  /** The port it listens on. */
  public int port() {
    return connector.getLocalPort();
  }

  /** Replaces the scenario; requests already answering keep theirs. */
  public void scenario(Scenario next) {
    this.scenario = next;
  }

  /** Requests received. */
  public long requests() {
    return requests.get();
  }

  /** Requests answered by the rule named {@code rule}. */
  public long hits(String rule) {
    AtomicLong n = hits.get(rule);
    return n == null ? 0 : n.get();
  }

  @Override
  public void close() {
    try {
      server.stop();
    } catch (Exception e) {
      // stopping: nothing left to do
    }
  }

  /** Answers request number {@code n} (it names the completion and its tool calls). */
  private void route(Request req, Response resp, Callback cb, long n) throws IOException {
    String path = Request.getPathInContext(req);
    String method = req.getMethod();
    switch (path) {
      case "/v1/models" -> {
        if (!method.equals("GET")) {
          error(Api.OPENAI, resp, cb, 405, "method_not_allowed", "use GET /v1/models");
          return;
        }
        ObjectNode out = Json.object().put("object", "list");
        ArrayNode data = out.putArray("data");
        for (String m : scenario.models()) {
          data.addObject().put("id", m).put("object", "model").put("created", 0).put("owned_by", "flightdeck-sim");
        }
        json(resp, cb, 200, out);
      }
      case "/v1/chat/completions", "/v1/embeddings", "/v1/messages" -> {
        Api api = path.equals("/v1/messages") ? Api.ANTHROPIC : Api.OPENAI;
        if (!method.equals("POST")) {
          error(api, resp, cb, 405, "method_not_allowed", "use POST " + path);
          return;
        }
        JsonNode body = body(api, req, resp, cb);
        if (body == null) {
          return;
        }
        switch (path) {
          case "/v1/embeddings" -> embeddings(body, resp, cb);
          case "/v1/messages" -> messages(req, body, resp, cb, n);
          default -> chat(req, body, resp, cb, n);
        }
      }
      case "/healthz" -> json(resp, cb, 200, Json.object().put("status", "ok"));
      default -> error(Api.OPENAI, resp, cb, 404, "unknown_url", "no such endpoint: " + method + " " + path
          + "; the simulator serves /v1/chat/completions, /v1/messages, /v1/embeddings, /v1/models");
    }
  }

  private JsonNode body(Api api, Request req, Response resp, Callback cb) throws IOException {
    long declared = req.getLength();
    if (declared > MAX_BODY) {
      error(api, resp, cb, 413, "request_too_large",
          "the request body is " + declared + " bytes; at most " + MAX_BODY + " are accepted");
      return null;
    }
    byte[] bytes;
    try {
      bytes = Content.Source.asByteArrayAsync(req, MAX_BODY).get();
    } catch (Exception e) {
      error(api, resp, cb, 413, "request_too_large",
          "could not read the request body (at most " + MAX_BODY + " bytes): " + e.getMessage());
      return null;
    }
    try {
      JsonNode n = Json.mapper().readTree(bytes);
      if (n == null || !n.isObject()) {
        error(api, resp, cb, 400, "invalid_json", "the request body must be a JSON object");
        return null;
      }
      return n;
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      error(api, resp, cb, 400, "invalid_json", "the request body is not valid JSON: " + e.getOriginalMessage());
      return null;
    }
  }

  /** OpenAI's {@code POST /v1/chat/completions}. */
  private void chat(Request req, JsonNode body, Response resp, Callback cb, long n) throws IOException {
    Scenario s = scenario;
    String model = body.path("model").asText("");
    if (!s.models().contains(model)) {
      error(Api.OPENAI, resp, cb, 404, "model_not_found", "the model '" + model
          + "' does not exist; this simulator serves " + String.join(", ", s.models()));
      return;
    }
    JsonNode messages = body.path("messages");
    if (!messages.isArray() || messages.isEmpty()) {
      error(Api.OPENAI, resp, cb, 400, "invalid_messages", "messages must be a non-empty array");
      return;
    }
    Answer a = answer(Api.OPENAI, s, Conversation.of(messages), body.path("tools"), req, resp, cb, n);
    if (a == null) {
      return;
    }
    String id = "chatcmpl-sim-" + n;
    long created = System.currentTimeMillis() / 1000;
    if (body.path("stream").asBoolean(false)) {
      events(req, resp, cb, openAiEvents(a, n, id, created, model,
          body.path("stream_options").path("include_usage").asBoolean(false)), a);
      return;
    }
    ObjectNode out = Json.object().put("id", id).put("object", "chat.completion").put("created", created)
        .put("model", model).put("system_fingerprint", "fp_flightdeck_sim");
    ObjectNode choice = out.putArray("choices").addObject().put("index", 0);
    ObjectNode message = choice.putObject("message").put("role", "assistant");
    if (a.reply() != null) {
      message.put("content", a.reply());
    } else {
      message.putNull("content");
    }
    message.putNull("refusal");
    if (!a.calls().isEmpty()) {
      ArrayNode tc = message.putArray("tool_calls");
      for (int i = 0; i < a.calls().size(); i++) {
        tc.addObject().put("id", "call_" + n + "_" + i).put("type", "function").putObject("function")
            .put("name", a.calls().get(i).name()).put("arguments", a.calls().get(i).arguments());
      }
    }
    choice.put("finish_reason", a.calls().isEmpty() ? "stop" : "tool_calls");
    out.set("usage", usage(a.prompt(), a.completion(), a.cached()));
    answerBody(req, resp, cb, out, a);
  }

  /** Anthropic's {@code POST /v1/messages}, with its required header and fields. */
  private void messages(Request req, JsonNode body, Response resp, Callback cb, long n) throws IOException {
    Scenario s = scenario;
    if (req.getHeaders().get("anthropic-version") == null) {
      error(Api.ANTHROPIC, resp, cb, 400, "", "anthropic-version: header is required");
      return;
    }
    String model = body.path("model").asText("");
    if (!s.models().contains(model)) {
      error(Api.ANTHROPIC, resp, cb, 404, "", "model: " + model + " (this simulator serves " + String.join(", ", s.models()) + ")");
      return;
    }
    JsonNode maxTokens = body.path("max_tokens");
    if (!maxTokens.isIntegralNumber() || maxTokens.asLong() < 1) {
      error(Api.ANTHROPIC, resp, cb, 400, "", "max_tokens: " + (maxTokens.isMissingNode() ? "Field required" : "expected a positive integer"));
      return;
    }
    JsonNode messages = body.path("messages");
    if (!messages.isArray() || messages.isEmpty()) {
      error(Api.ANTHROPIC, resp, cb, 400, "", "messages: expected a non-empty array");
      return;
    }
    Answer a = answer(Api.ANTHROPIC, s, Conversation.ofMessages(body.path("system"), messages), body.path("tools"),
        req, resp, cb, n);
    if (a == null) {
      return;
    }
    String id = "msg_sim" + n;
    if (body.path("stream").asBoolean(false)) {
      events(req, resp, cb, anthropicEvents(a, n, id, model), a);
      return;
    }
    ObjectNode out = Json.object().put("id", id).put("type", "message").put("role", "assistant").put("model", model);
    ArrayNode content = out.putArray("content");
    if (a.reply() != null) {
      content.addObject().put("type", "text").put("text", a.reply());
    }
    for (int i = 0; i < a.calls().size(); i++) {
      content.addObject().put("type", "tool_use").put("id", toolUseId(n, i)).put("name", a.calls().get(i).name())
          .set("input", Json.read(a.calls().get(i).arguments()));
    }
    out.put("stop_reason", a.calls().isEmpty() ? "end_turn" : "tool_use").putNull("stop_sequence");
    out.set("usage", anthropicUsage(a).put("output_tokens", a.completion()));
    answerBody(req, resp, cb, out, a);
  }

  private static String toolUseId(long n, int i) {
    return "toolu_sim" + n + "_" + i;
  }

  /** Anthropic counts cached input apart: {@code input_tokens} is what was not read from the cache. */
  private static ObjectNode anthropicUsage(Answer a) {
    return Json.object().put("input_tokens", a.prompt() - a.cached()).put("cache_creation_input_tokens", 0)
        .put("cache_read_input_tokens", a.cached());
  }

  /**
   * Anthropic's events: message_start, a text block of words (after a ping, as the API sends),
   * a tool_use block per call with its input in pieces, message_delta with the stop reason and
   * the output tokens, message_stop.
   */
  private static List<String> anthropicEvents(Answer a, long n, String id, String model) {
    List<String> events = new ArrayList<>();
    ObjectNode message = Json.object().put("id", id).put("type", "message").put("role", "assistant").put("model", model);
    message.putArray("content");
    message.putNull("stop_reason").putNull("stop_sequence")
        .set("usage", anthropicUsage(a).put("output_tokens", Math.min(1, a.completion())));
    ObjectNode start = Json.object().put("type", "message_start");
    start.set("message", message);
    events.add(sse("message_start", Json.write(start)));
    int index = 0;
    if (a.reply() != null) {
      events.add(blockStart(index, Json.object().put("type", "text").put("text", "")));
      events.add(sse("ping", "{\"type\":\"ping\"}"));
      for (String piece : pieces(a.reply())) {
        events.add(blockDelta(index, Json.object().put("type", "text_delta").put("text", piece)));
      }
      events.add(blockStop(index));
      index++;
    }
    for (int i = 0; i < a.calls().size(); i++, index++) {
      ObjectNode block = Json.object().put("type", "tool_use").put("id", toolUseId(n, i)).put("name", a.calls().get(i).name());
      block.putObject("input");
      events.add(blockStart(index, block));
      String arguments = a.calls().get(i).arguments();
      for (int from = 0; from < arguments.length(); ) {
        int to = arguments.offsetByCodePoints(from, Math.min(12, arguments.codePointCount(from, arguments.length())));
        events.add(blockDelta(index, Json.object().put("type", "input_json_delta").put("partial_json", arguments.substring(from, to))));
        from = to;
      }
      events.add(blockStop(index));
    }
    ObjectNode delta = Json.object().put("type", "message_delta");
    delta.putObject("delta").put("stop_reason", a.calls().isEmpty() ? "end_turn" : "tool_use").putNull("stop_sequence");
    delta.putObject("usage").put("output_tokens", a.completion());
    events.add(sse("message_delta", Json.write(delta)));
    events.add(sse("message_stop", "{\"type\":\"message_stop\"}"));
    return events;
  }

  private static String blockStart(int index, ObjectNode block) {
    ObjectNode e = Json.object().put("type", "content_block_start").put("index", index);
    e.set("content_block", block);
    return sse("content_block_start", Json.write(e));
  }

  private static String blockDelta(int index, ObjectNode delta) {
    ObjectNode e = Json.object().put("type", "content_block_delta").put("index", index);
    e.set("delta", delta);
    return sse("content_block_delta", Json.write(e));
  }

  private static String blockStop(int index) {
    return sse("content_block_stop", Json.write(Json.object().put("type", "content_block_stop").put("index", index)));
  }

  /**
   * Chooses the rule, counts its hit, waits its latency and plays its fault; the answer to give,
   * or null when a fault has answered instead.
   */
  private Answer answer(Api api, Scenario s, Conversation c, JsonNode tools, Request req, Response resp, Callback cb,
      long n) {
    Scenario.Rule rule = s.fallback();
    for (Scenario.Rule r : s.rules()) {
      if (c.matches(r)) {
        rule = r;
        break;
      }
    }
    hits.computeIfAbsent(rule.name(), k -> new AtomicLong()).incrementAndGet();
    SplittableRandom random = new SplittableRandom(s.seed() * 0x9E3779B97F4A7C15L + n);
    Scenario.Latency latency = rule.latency() != null ? rule.latency() : s.latency();
    Scenario.Fault fault = rule.fault() != null && random.nextDouble() < rule.fault().rate() ? rule.fault() : null;
    sleep(sample(latency, random));
    if (fault != null) {
      switch (fault.kind()) {
        case "status" -> {
          error(api, resp, cb, fault.status(), "simulated_" + fault.status(), "simulated fault (rule " + rule.name() + ")");
          return null;
        }
        case "timeout" -> {
          sleep(fault.duration());
          drop(req, cb);
          return null;
        }
        case "malformed" -> {
          resp.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
          Content.Sink.write(resp, true, api == Api.ANTHROPIC
              ? "{\"id\":\"msg_sim\",\"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":\"unterminated"
              : "{\"id\":\"chatcmpl-sim\",\"choices\":[{\"message\":{\"content\":\"unterminated", cb);
          return null;
        }
        default -> {
          // cut and burn shape the answer below
        }
      }
    }
    String reply = rule.reply();
    long factor = fault != null && fault.kind().equals("burn") ? fault.factor() : 1;
    if (reply != null && factor > 1) {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < factor && sb.length() < 1 << 20; i++) {
        sb.append(i == 0 ? "" : " ").append(reply);
      }
      reply = sb.toString();
    }
    List<Scenario.ToolCall> calls = rule.toolCalls();
    long prompt = rule.promptTokens() >= 0 ? rule.promptTokens() : Math.max(1, (c.chars() + tools.toString().length() + 3) / 4);
    long completion = rule.completionTokens() >= 0 ? rule.completionTokens() * factor
        : Math.max(1, ((reply == null ? 0 : reply.length()) + calls.stream().mapToInt(t -> t.name().length() + t.arguments().length()).sum() + 3) / 4);
    return new Answer(reply, calls, prompt, completion, Math.min(prompt, rule.cachedTokens()), latency.perChunk(),
        fault != null && fault.kind().equals("cut") ? fault.afterChunks() : -1);
  }

  /** Sends a whole answer, or half of it and then breaks the connection off when the rule's fault is a cut. */
  private static void answerBody(Request req, Response resp, Callback cb, ObjectNode out, Answer a) throws IOException {
    if (a.cutAfter() < 0) {
      json(resp, cb, 200, out);
      return;
    }
    byte[] whole = Json.write(out).getBytes(StandardCharsets.UTF_8);
    resp.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    resp.getHeaders().put(HttpHeader.CONTENT_LENGTH, whole.length);
    OutputStream os = Content.Sink.asOutputStream(resp);
    os.write(whole, 0, whole.length / 2);
    os.flush();
    drop(req, cb);
  }

  private static ObjectNode usage(long prompt, long completion, long cached) {
    ObjectNode u = Json.object().put("prompt_tokens", prompt).put("completion_tokens", completion)
        .put("total_tokens", prompt + completion);
    u.putObject("prompt_tokens_details").put("cached_tokens", cached);
    return u;
  }

  /** OpenAI's chunks: role first, then words of the reply, whole tool calls, the finish reason, usage if asked, [DONE]. */
  private static List<String> openAiEvents(Answer a, long n, String id, long created, String model, boolean includeUsage) {
    List<ObjectNode> deltas = new ArrayList<>();
    deltas.add(Json.object().put("role", "assistant").put("content", ""));
    if (a.reply() != null) {
      for (String piece : pieces(a.reply())) {
        deltas.add(Json.object().put("content", piece));
      }
    }
    for (int i = 0; i < a.calls().size(); i++) {
      ObjectNode d = Json.object();
      d.putArray("tool_calls").addObject().put("index", i).put("id", "call_" + n + "_" + i)
          .put("type", "function").putObject("function").put("name", a.calls().get(i).name())
          .put("arguments", a.calls().get(i).arguments());
      deltas.add(d);
    }
    List<String> events = new ArrayList<>();
    for (int i = 0; i <= deltas.size(); i++) {
      ObjectNode chunk = Json.object().put("id", id).put("object", "chat.completion.chunk").put("created", created)
          .put("model", model).put("system_fingerprint", "fp_flightdeck_sim");
      ObjectNode choice = chunk.putArray("choices").addObject().put("index", 0);
      if (i < deltas.size()) {
        choice.set("delta", deltas.get(i));
        choice.putNull("finish_reason");
      } else {
        choice.putObject("delta");
        choice.put("finish_reason", a.calls().isEmpty() ? "stop" : "tool_calls");
      }
      if (includeUsage) {
        chunk.putNull("usage");
      }
      events.add(sse(null, Json.write(chunk)));
    }
    if (includeUsage) {
      ObjectNode last = Json.object().put("id", id).put("object", "chat.completion.chunk").put("created", created)
          .put("model", model).put("system_fingerprint", "fp_flightdeck_sim");
      last.putArray("choices");
      last.set("usage", usage(a.prompt(), a.completion(), a.cached()));
      events.add(sse(null, Json.write(last)));
    }
    events.add(sse(null, "[DONE]"));
    return events;
  }

  /** One server-sent event; Anthropic names each event, OpenAI sends data only. */
  private static String sse(String event, String data) {
    return (event == null ? "" : "event: " + event + "\n") + "data: " + data + "\n\n";
  }

  /**
   * Streams the events, {@code perChunk} apart after the first content, or breaks the connection
   * off after {@code cutAfter} of them.
   */
  private static void events(Request req, Response resp, Callback cb, List<String> events, Answer a) throws IOException {
    resp.setStatus(200);
    resp.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream");
    resp.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
    OutputStream os = Content.Sink.asOutputStream(resp);
    for (int i = 0; i < events.size(); i++) {
      if (i == a.cutAfter()) {
        os.flush();
        drop(req, cb);
        return;
      }
      if (i > 1) {
        sleep(a.perChunk());
      }
      os.write(events.get(i).getBytes(StandardCharsets.UTF_8));
      os.flush();
    }
    os.close();
    cb.succeeded();
  }

  /** Words with their following space, as a model streams tokens. */
  static List<String> pieces(String text) {
    List<String> out = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < text.length(); i++) {
      if (text.charAt(i) == ' ' || i == text.length() - 1) {
        out.add(text.substring(start, i + 1));
        start = i + 1;
      }
    }
    return out;
  }

  private void embeddings(JsonNode body, Response resp, Callback cb) {
    JsonNode input = body.path("input");
    List<String> texts = new ArrayList<>();
    if (input.isTextual()) {
      texts.add(input.asText());
    } else if (input.isArray() && !input.isEmpty()) {
      for (JsonNode t : input) {
        if (!t.isTextual()) {
          error(Api.OPENAI, resp, cb, 400, "invalid_input", "input must be a string or an array of strings");
          return;
        }
        texts.add(t.asText());
      }
    } else {
      error(Api.OPENAI, resp, cb, 400, "invalid_input", "input must be a string or an array of strings");
      return;
    }
    boolean base64 = "base64".equals(body.path("encoding_format").asText());
    ObjectNode out = Json.object().put("object", "list").put("model", body.path("model").asText("sim-embedding"));
    ArrayNode data = out.putArray("data");
    long tokens = 0;
    for (int i = 0; i < texts.size(); i++) {
      float[] v = embed(texts.get(i));
      tokens += Math.max(1, (texts.get(i).length() + 3) / 4);
      ObjectNode e = data.addObject().put("object", "embedding").put("index", i);
      if (base64) {
        ByteBuffer buf = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
          buf.putFloat(f);
        }
        e.put("embedding", Base64.getEncoder().encodeToString(buf.array()));
      } else {
        ArrayNode a = e.putArray("embedding");
        for (float f : v) {
          a.add(f);
        }
      }
    }
    out.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
    json(resp, cb, 200, out);
  }

  /**
   * A deterministic embedding: words hashed into buckets, normalised. Texts that share words
   * are close; it is a stand-in for tests, not a language model.
   */
  static float[] embed(String text) {
    float[] v = new float[EMBEDDING_DIMENSIONS];
    for (String w : text.toLowerCase(java.util.Locale.ROOT).split("[^\\p{L}\\p{N}]+")) {
      if (!w.isEmpty()) {
        int h = w.hashCode() * 0x9E3779B1;
        v[Math.floorMod(h, EMBEDDING_DIMENSIONS)] += (h & 0x10000) == 0 ? 1 : -1;
      }
    }
    double norm = 0;
    for (float f : v) {
      norm += f * f;
    }
    if (norm > 0) {
      float inv = (float) (1 / Math.sqrt(norm));
      for (int i = 0; i < v.length; i++) {
        v[i] *= inv;
      }
    }
    return v;
  }

  static Duration sample(Scenario.Latency l, SplittableRandom r) {
    return switch (l.distribution()) {
      case "uniform" -> l.min().plusNanos((long) (r.nextDouble() * (l.max().toNanos() - l.min().toNanos())));
      case "lognormal" -> {
        double mu = Math.log(l.median().toNanos());
        double sigma = (Math.log(l.p99().toNanos()) - mu) / 2.3263478740408408;
        double g = gaussian(r);
        yield Duration.ofNanos((long) Math.min(Math.exp(mu + sigma * g), Duration.ofMinutes(10).toNanos()));
      }
      default -> l.median();
    };
  }

  private static double gaussian(SplittableRandom r) {
    double u = 1 - r.nextDouble();
    double v = r.nextDouble();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  private static void sleep(Duration d) {
    if (d.isZero() || d.isNegative()) {
      return;
    }
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Breaks the connection off, as a crashing model server would. */
  private static void drop(Request req, Callback cb) {
    // A FIN, not a reset: what was sent reaches the client, then the body ends unfinished. The
    // socket is closed only once the client has closed its side (or after 5 s): closing earlier
    // can turn into a reset that discards the data the client has not read yet.
    org.eclipse.jetty.io.EndPoint endPoint = req.getConnectionMetaData().getConnection().getEndPoint();
    endPoint.shutdownOutput();
    java.nio.ByteBuffer scratch = java.nio.ByteBuffer.allocate(4096);
    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    try {
      while (System.nanoTime() < deadline) {
        scratch.clear().flip();
        int n = endPoint.fill(scratch);
        if (n < 0) {
          break;
        }
        if (n == 0) {
          sleep(Duration.ofMillis(5));
        }
      }
    } catch (IOException e) {
      // the client reset its side: nothing left to protect
    }
    endPoint.close();
    cb.failed(new IOException("simulated connection drop"));
  }

  private static void json(Response resp, Callback cb, int status, JsonNode body) {
    resp.setStatus(status);
    resp.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    Content.Sink.write(resp, true, Json.write(body), cb);
  }

  /**
   * An error in the API's shape, its type following the status as the real API types it;
   * {@code code} is OpenAI's (Anthropic's errors have none).
   */
  private static void error(Api api, Response resp, Callback cb, int status, String code, String message) {
    ObjectNode e = Json.object();
    if (api == Api.ANTHROPIC) {
      String type = switch (status) {
        case 401 -> "authentication_error";
        case 403 -> "permission_error";
        case 404 -> "not_found_error";
        case 413 -> "request_too_large";
        case 429 -> "rate_limit_error";
        case 529 -> "overloaded_error";
        default -> status >= 500 ? "api_error" : "invalid_request_error";
      };
      e.put("type", "error").putObject("error").put("type", type).put("message", message);
    } else {
      String type = status == 429 ? "rate_limit_error" : status >= 500 ? "server_error" : "invalid_request_error";
      e.putObject("error").put("message", message).put("type", type).putNull("param").put("code", code);
    }
    json(resp, cb, status, e);
  }

  /** What the rules look at: the last message's role, the last user text, the system prompt, the last tool's name. */
  private record Conversation(String lastRole, String lastUser, String system, String lastTool, int chars) {

    static Conversation of(JsonNode messages) {
      Map<String, String> toolNames = new HashMap<>();
      String lastUser = "";
      StringBuilder system = new StringBuilder();
      String lastTool = null;
      int chars = 0;
      for (JsonNode m : messages) {
        String text = text(m.path("content"));
        chars += text.length();
        switch (m.path("role").asText()) {
          case "user" -> lastUser = text;
          case "assistant" -> {
            for (JsonNode tc : m.path("tool_calls")) {
              toolNames.put(tc.path("id").asText(), tc.path("function").path("name").asText());
              chars += tc.path("function").path("arguments").asText().length();
            }
          }
          case "tool" -> lastTool = toolNames.getOrDefault(m.path("tool_call_id").asText(), m.path("name").asText(null));
          case "system", "developer" -> system.append(system.isEmpty() ? "" : "\n").append(text);
          default -> {
            // other roles only count towards prompt tokens
          }
        }
      }
      String lastRole = messages.get(messages.size() - 1).path("role").asText();
      return new Conversation(lastRole, lastUser, system.toString(), "tool".equals(lastRole) ? lastTool : null, chars);
    }

    /**
     * An Anthropic conversation: tool results are user messages of tool_result blocks, naming the
     * tool only through the id of the tool_use block that called it; a message ending with one
     * is the {@code tool} role the rules know.
     */
    static Conversation ofMessages(JsonNode system, JsonNode messages) {
      Map<String, String> toolNames = new HashMap<>();
      String lastUser = "";
      String lastTool = null;
      boolean lastIsToolResult = false;
      int chars = text(system).length();
      for (JsonNode m : messages) {
        String text = text(m.path("content"));
        chars += text.length();
        boolean toolResult = false;
        for (JsonNode block : m.path("content")) {
          switch (block.path("type").asText()) {
            case "tool_use" -> {
              toolNames.put(block.path("id").asText(), block.path("name").asText());
              chars += block.path("input").toString().length();
            }
            case "tool_result" -> {
              toolResult = true;
              lastTool = toolNames.get(block.path("tool_use_id").asText());
              chars += text(block.path("content")).length();
            }
            default -> {
              // text counts above; images and documents count for nothing here
            }
          }
        }
        boolean user = m.path("role").asText().equals("user");
        if (user && (!toolResult || !text.isEmpty())) {
          lastUser = text;
        }
        // Text after the results is the user speaking again, as a user message after tool messages in OpenAI's shape.
        JsonNode content = m.path("content");
        lastIsToolResult = user && content.isArray() && !content.isEmpty()
            && content.get(content.size() - 1).path("type").asText().equals("tool_result");
      }
      String lastRole = lastIsToolResult ? "tool" : messages.get(messages.size() - 1).path("role").asText();
      return new Conversation(lastRole, lastUser, text(system), lastIsToolResult ? lastTool : null, chars);
    }

    private static String text(JsonNode content) {
      if (content.isTextual()) {
        return content.asText();
      }
      StringBuilder sb = new StringBuilder();
      for (JsonNode part : content) {
        if (part.path("text").isTextual()) {
          sb.append(part.path("text").asText());
        }
      }
      return sb.toString();
    }

    boolean matches(Scenario.Rule r) {
      return (r.user() == null || r.user().matcher(lastUser).find())
          && (r.system() == null || r.system().matcher(system).find())
          && (r.lastRole() == null || r.lastRole().equals(lastRole))
          && (r.tool() == null || r.tool().equals(lastTool));
    }
  }
}

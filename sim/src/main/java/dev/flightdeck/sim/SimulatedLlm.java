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
 * An OpenAI-compatible model server driven by a {@link Scenario}: {@code /v1/chat/completions}
 * (streaming and not, tool calls, usage with cached tokens), {@code /v1/models} and
 * {@code /v1/embeddings}, with latency drawn from a distribution and faults on demand. Each
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
            error(resp, cb, 500, "server_error", "simulator_error", "the simulator failed: " + e.getMessage());
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
          error(resp, cb, 405, "invalid_request_error", "method_not_allowed", "use GET /v1/models");
          return;
        }
        ObjectNode out = Json.object().put("object", "list");
        ArrayNode data = out.putArray("data");
        for (String m : scenario.models()) {
          data.addObject().put("id", m).put("object", "model").put("created", 0).put("owned_by", "flightdeck-sim");
        }
        json(resp, cb, 200, out);
      }
      case "/v1/chat/completions", "/v1/embeddings" -> {
        if (!method.equals("POST")) {
          error(resp, cb, 405, "invalid_request_error", "method_not_allowed", "use POST " + path);
          return;
        }
        JsonNode body = body(req, resp, cb);
        if (body == null) {
          return;
        }
        if (path.equals("/v1/embeddings")) {
          embeddings(body, resp, cb);
        } else {
          chat(req, body, resp, cb, n);
        }
      }
      case "/healthz" -> json(resp, cb, 200, Json.object().put("status", "ok"));
      default -> error(resp, cb, 404, "invalid_request_error", "unknown_url",
          "no such endpoint: " + method + " " + path + "; the simulator serves /v1/chat/completions, /v1/embeddings, /v1/models");
    }
  }

  private JsonNode body(Request req, Response resp, Callback cb) throws IOException {
    long declared = req.getLength();
    if (declared > MAX_BODY) {
      error(resp, cb, 413, "invalid_request_error", "request_too_large",
          "the request body is " + declared + " bytes; at most " + MAX_BODY + " are accepted");
      return null;
    }
    byte[] bytes;
    try {
      bytes = Content.Source.asByteArrayAsync(req, MAX_BODY).get();
    } catch (Exception e) {
      error(resp, cb, 413, "invalid_request_error", "request_too_large",
          "could not read the request body (at most " + MAX_BODY + " bytes): " + e.getMessage());
      return null;
    }
    try {
      JsonNode n = Json.mapper().readTree(bytes);
      if (n == null || !n.isObject()) {
        error(resp, cb, 400, "invalid_request_error", "invalid_json", "the request body must be a JSON object");
        return null;
      }
      return n;
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      error(resp, cb, 400, "invalid_request_error", "invalid_json",
          "the request body is not valid JSON: " + e.getOriginalMessage());
      return null;
    }
  }

  private void chat(Request req, JsonNode body, Response resp, Callback cb, long n) throws IOException {
    Scenario s = scenario;
    String model = body.path("model").asText("");
    if (!s.models().contains(model)) {
      error(resp, cb, 404, "invalid_request_error", "model_not_found", "the model '" + model
          + "' does not exist; this simulator serves " + String.join(", ", s.models()));
      return;
    }
    JsonNode messages = body.path("messages");
    if (!messages.isArray() || messages.isEmpty()) {
      error(resp, cb, 400, "invalid_request_error", "invalid_messages", "messages must be a non-empty array");
      return;
    }
    Conversation c = Conversation.of(messages);
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
          error(resp, cb, fault.status(), fault.status() == 429 ? "rate_limit_error" : "server_error",
              "simulated_" + fault.status(), "simulated fault (rule " + rule.name() + ")");
          return;
        }
        case "timeout" -> {
          sleep(fault.duration());
          drop(req, cb);
          return;
        }
        case "malformed" -> {
          resp.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
          Content.Sink.write(resp, true, "{\"id\":\"chatcmpl-sim\",\"choices\":[{\"message\":{\"content\":\"unterminated", cb);
          return;
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
    long prompt = rule.promptTokens() >= 0 ? rule.promptTokens() : Math.max(1, (c.chars() + body.path("tools").toString().length() + 3) / 4);
    long completion = rule.completionTokens() >= 0 ? rule.completionTokens() * factor
        : Math.max(1, ((reply == null ? 0 : reply.length()) + calls.stream().mapToInt(t -> t.name().length() + t.arguments().length()).sum() + 3) / 4);
    long cached = Math.min(prompt, rule.cachedTokens());
    String id = "chatcmpl-sim-" + n;
    long created = System.currentTimeMillis() / 1000;
    if (body.path("stream").asBoolean(false)) {
      stream(req, resp, cb, n, id, created, model, reply, calls, usage(prompt, completion, cached),
          body.path("stream_options").path("include_usage").asBoolean(false), latency.perChunk(),
          fault != null && fault.kind().equals("cut") ? fault.afterChunks() : -1);
      return;
    }
    ObjectNode out = Json.object().put("id", id).put("object", "chat.completion").put("created", created)
        .put("model", model).put("system_fingerprint", "fp_flightdeck_sim");
    ObjectNode choice = out.putArray("choices").addObject().put("index", 0);
    ObjectNode message = choice.putObject("message").put("role", "assistant");
    if (reply != null) {
      message.put("content", reply);
    } else {
      message.putNull("content");
    }
    message.putNull("refusal");
    if (!calls.isEmpty()) {
      ArrayNode tc = message.putArray("tool_calls");
      for (int i = 0; i < calls.size(); i++) {
        tc.addObject().put("id", "call_" + n + "_" + i).put("type", "function").putObject("function")
            .put("name", calls.get(i).name()).put("arguments", calls.get(i).arguments());
      }
    }
    choice.put("finish_reason", calls.isEmpty() ? "stop" : "tool_calls");
    out.set("usage", usage(prompt, completion, cached));
    if (fault != null && fault.kind().equals("cut")) {
      byte[] whole = Json.write(out).getBytes(StandardCharsets.UTF_8);
      resp.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
      resp.getHeaders().put(HttpHeader.CONTENT_LENGTH, whole.length);
      OutputStream os = Content.Sink.asOutputStream(resp);
      os.write(whole, 0, whole.length / 2);
      os.flush();
      drop(req, cb);
      return;
    }
    json(resp, cb, 200, out);
  }

  private static ObjectNode usage(long prompt, long completion, long cached) {
    ObjectNode u = Json.object().put("prompt_tokens", prompt).put("completion_tokens", completion)
        .put("total_tokens", prompt + completion);
    u.putObject("prompt_tokens_details").put("cached_tokens", cached);
    return u;
  }

  private void stream(Request req, Response resp, Callback cb, long n, String id, long created, String model, String reply,
      List<Scenario.ToolCall> calls, ObjectNode usage, boolean includeUsage, Duration perChunk, int cutAfter)
      throws IOException {
    resp.setStatus(200);
    resp.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream");
    resp.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
    OutputStream os = Content.Sink.asOutputStream(resp);
    List<ObjectNode> deltas = new ArrayList<>();
    deltas.add(Json.object().put("role", "assistant").put("content", ""));
    if (reply != null) {
      for (String piece : pieces(reply)) {
        deltas.add(Json.object().put("content", piece));
      }
    }
    for (int i = 0; i < calls.size(); i++) {
      ObjectNode d = Json.object();
      d.putArray("tool_calls").addObject().put("index", i).put("id", "call_" + n + "_" + i)
          .put("type", "function").putObject("function").put("name", calls.get(i).name())
          .put("arguments", calls.get(i).arguments());
      deltas.add(d);
    }
    int sent = 0;
    for (int i = 0; i <= deltas.size(); i++) {
      if (cutAfter >= 0 && sent == cutAfter) {
        os.flush();
        drop(req, cb);
        return;
      }
      ObjectNode chunk = Json.object().put("id", id).put("object", "chat.completion.chunk").put("created", created)
          .put("model", model).put("system_fingerprint", "fp_flightdeck_sim");
      ObjectNode choice = chunk.putArray("choices").addObject().put("index", 0);
      if (i < deltas.size()) {
        choice.set("delta", deltas.get(i));
        choice.putNull("finish_reason");
      } else {
        choice.putObject("delta");
        choice.put("finish_reason", calls.isEmpty() ? "stop" : "tool_calls");
      }
      if (includeUsage) {
        chunk.putNull("usage");
      }
      event(os, Json.write(chunk));
      sent++;
      if (i > 0) {
        sleep(perChunk);
      }
    }
    if (includeUsage) {
      ObjectNode last = Json.object().put("id", id).put("object", "chat.completion.chunk").put("created", created)
          .put("model", model).put("system_fingerprint", "fp_flightdeck_sim");
      last.putArray("choices");
      last.set("usage", usage);
      event(os, Json.write(last));
    }
    event(os, "[DONE]");
    os.close();
    cb.succeeded();
  }

  private static void event(OutputStream os, String data) throws IOException {
    os.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
    os.flush();
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
          error(resp, cb, 400, "invalid_request_error", "invalid_input", "input must be a string or an array of strings");
          return;
        }
        texts.add(t.asText());
      }
    } else {
      error(resp, cb, 400, "invalid_request_error", "invalid_input", "input must be a string or an array of strings");
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

  private static void error(Response resp, Callback cb, int status, String type, String code, String message) {
    ObjectNode e = Json.object();
    e.putObject("error").put("message", message).put("type", type).putNull("param").put("code", code);
    json(resp, cb, status, e);
  }

  /** What the rules look at: the last message's role, the last user text, the last tool's name. */
  private record Conversation(String lastRole, String lastUser, String lastTool, int chars) {

    static Conversation of(JsonNode messages) {
      Map<String, String> toolNames = new HashMap<>();
      String lastUser = "";
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
          default -> {
            // system and developer messages only count towards prompt tokens
          }
        }
      }
      String lastRole = messages.get(messages.size() - 1).path("role").asText();
      return new Conversation(lastRole, lastUser, "tool".equals(lastRole) ? lastTool : null, chars);
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
          && (r.lastRole() == null || r.lastRole().equals(lastRole))
          && (r.tool() == null || r.tool().equals(lastTool));
    }
  }
}

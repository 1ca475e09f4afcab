package dev.flightdeck.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.gateway.routing.AgentRoute;
import dev.flightdeck.gateway.routing.VersionTarget;
import dev.flightdeck.gateway.telemetry.GatewayMetrics;
import dev.flightdeck.gateway.telemetry.RequestRecord;
import dev.flightdeck.gateway.telemetry.Usage;
import dev.flightdeck.gateway.telemetry.VersionWindows;
import dev.flightdeck.gateway.upstream.Endpoint;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.BytesRequestContent;

/**
 * Shadow traffic: after the primary response has gone to the client, the same request is sent
 * to the shadow version and the two answers are compared. Mirrors wait in a bounded queue
 * served by a few workers; when the queue is full the mirror is dropped and counted, so the
 * primary path never waits for a shadow.
 */
final class ShadowMirror implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(ShadowMirror.class.getName());
  /** Fields that differ between any two answers (ids, times, usage) and are left out of "exact". */
  private static final List<String> VOLATILE = List.of("id", "created", "usage", "system_fingerprint", "created_at");
  /** Fields that are not part of an answer's meaning, left out of the semantic comparison. */
  private static final java.util.Set<String> NOT_TEXT = java.util.Set.of("id", "created", "usage",
      "system_fingerprint", "created_at", "model", "object", "role", "finish_reason", "type");

  /** One request to mirror, with the primary's answer to compare with. */
  record Mirror(String agent, VersionTarget target, String method, String path, String query,
      List<Map.Entry<String, String>> headers, byte[] body, int primaryStatus, byte[] primaryBody,
      AgentRoute.Shadow spec) {}

  private final HttpClient client;
  private final GatewayMetrics metrics;
  private final VersionWindows windows;
  private final Consumer<RequestRecord> sink;
  private final Supplier<TextSimilarity> semantic;
  private volatile TextSimilarity similarity;
  private final AtomicBoolean warned = new AtomicBoolean();
  private final BlockingQueue<Mirror> queue;
  private final Thread[] workers;
  private final AtomicLong dropped = new AtomicLong();
  private volatile boolean closed;

  ShadowMirror(HttpClient client, GatewayMetrics metrics, VersionWindows windows, Consumer<RequestRecord> sink,
      Supplier<TextSimilarity> semantic, int queueSize, int workers) {
    this.semantic = semantic;
    this.client = client;
    this.metrics = metrics;
    this.windows = windows;
    this.sink = sink;
    this.queue = new ArrayBlockingQueue<>(queueSize);
    this.workers = new Thread[workers];
    for (int i = 0; i < workers; i++) {
      this.workers[i] = Thread.ofVirtual().name("flightdeck-shadow-" + i).start(this::work);
    }
  }

  /** Queues a mirror, or drops it (and counts it) when the queue is full. */
  void submit(Mirror m) {
    if (!queue.offer(m)) {
      dropped.incrementAndGet();
      metrics.shadow(m.agent(), m.target().name(), "dropped");
    }
  }

  /** Mirrors dropped because the queue was full. */
  long dropped() {
    return dropped.get();
  }

  private void work() {
    while (!closed) {
      Mirror m;
      try {
        m = queue.poll(200, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        return;
      }
      if (m != null) {
        try {
          mirror(m);
        } catch (RuntimeException e) {
          LOG.log(System.Logger.Level.DEBUG, "shadow request failed", e);
        }
      }
    }
  }

  private void mirror(Mirror m) {
    VersionTarget v = m.target();
    Endpoint e = v.balancer().acquire(null);
    if (e == null) {
      record(m, 0, -1, 0, 0, null, true, false);
      return;
    }
    long start = System.nanoTime();
    boolean failed = true;
    try {
      Request r = client.newRequest(e.target(m.path(), m.query())).method(m.method())
          .timeout(v.timeouts().total().toMillis(), TimeUnit.MILLISECONDS)
          .idleTimeout(v.timeouts().idle().toMillis(), TimeUnit.MILLISECONDS);
      r.headers(h -> {
        for (Map.Entry<String, String> x : m.headers()) {
          h.add(x.getKey(), x.getValue());
        }
        h.put("X-Flightdeck-Version", v.name());
        h.put("X-Flightdeck-Shadow", "true");
      });
      if (m.body() != null && m.body().length > 0) {
        r.body(new BytesRequestContent(m.body()));
      }
      ContentResponse resp = r.send();
      long nanos = System.nanoTime() - start;
      byte[] body = resp.getContent();
      failed = resp.getStatus() >= 500;
      boolean different = compare(m, resp.getStatus(), body);
      Usage u = Usage.fromDocument(body, 0, body.length);
      record(m, resp.getStatus(), nanos, body.length, m.body() == null ? 0 : m.body().length, u, failed, different);
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
    } catch (Exception x) {
      record(m, 0, System.nanoTime() - start, 0, 0, null, true, false);
    } finally {
      v.balancer().release(e, failed);
    }
  }

  private void record(Mirror m, int status, long nanos, long bytesOut, long bytesIn, Usage u, boolean failed,
      boolean different) {
    Usage usage = u == null ? Usage.NONE : u;
    windows.recordShadow(m.target().name(), failed, different);
    metrics.shadow(m.agent(), m.target().name(), failed ? "error" : different ? "different" : "same");
    sink.accept(new RequestRecord(m.agent(), m.target().name(), null, "shadow", status,
        failed && status == 0 ? "upstream_unavailable" : null, -1, Math.max(0, nanos), bytesIn, bytesOut,
        usage.promptTokens(), usage.completionTokens(), usage.cachedTokens(), usage.costUsd(), true, Map.of()));
  }

  private boolean compare(Mirror m, int status, byte[] body) {
    String mode = m.spec().compare();
    if ("none".equals(mode)) {
      return false;
    }
    if (m.primaryBody() == null || status != m.primaryStatus()) {
      return status != m.primaryStatus();
    }
    if ("semantic".equals(mode)) {
      TextSimilarity sim = similarity();
      if (sim != null) {
        double score = sim.similarity(answerText(m.primaryBody()), answerText(body));
        metrics.shadowSimilarity(m.agent(), m.target().name(), score);
        return score < m.spec().minSimilarity();
      }
    }
    return differs(m.primaryStatus(), m.primaryBody(), status, body);
  }

  /** The model, loaded on the first semantic comparison (off the request path), or null. */
  private TextSimilarity similarity() {
    TextSimilarity s = similarity;
    if (s == null && semantic != null) {
      synchronized (this) {
        if (similarity == null) {
          try {
            similarity = semantic.get();
          } catch (RuntimeException | LinkageError e) {
            if (warned.compareAndSet(false, true)) {
              LOG.log(System.Logger.Level.WARNING, "semantic shadow comparison is unavailable (" + e
                  + "); comparing exactly instead");
            }
            return null;
          }
        }
        s = similarity;
      }
    }
    return s;
  }

  /**
   * The text of an answer, for semantic comparison: a JSON body's string values (without ids,
   * timestamps and usage), joined by new lines; a stream of SSE events' {@code content} and
   * {@code text} values, concatenated (the streamed answer); any other body as text.
   */
  static String answerText(byte[] body) {
    String raw = new String(body, StandardCharsets.UTF_8);
    String trimmed = raw.stripLeading();
    if (trimmed.startsWith("data:") || trimmed.startsWith("event:") || trimmed.startsWith(":")) {
      StringBuilder out = new StringBuilder();
      for (String line : raw.split("\n")) {
        if (line.startsWith("data:")) {
          String data = line.substring(5).strip();
          try {
            collect(Json.mapper().readTree(data), out, true, "");
          } catch (java.io.IOException | RuntimeException e) {
            // not JSON ([DONE], plain text): not part of the answer's text
          }
        }
      }
      return out.isEmpty() ? raw : out.toString();
    }
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
      try {
        StringBuilder out = new StringBuilder();
        collect(Json.mapper().readTree(body), out, false, "\n");
        return out.toString();
      } catch (java.io.IOException | RuntimeException e) {
        return raw;
      }
    }
    return raw;
  }

  private static void collect(JsonNode n, StringBuilder out, boolean streamed, String sep) {
    if (n.isObject()) {
      for (Map.Entry<String, JsonNode> f : n.properties()) {
        if (NOT_TEXT.contains(f.getKey())) {
          continue;
        }
        JsonNode v = f.getValue();
        if (v.isTextual()) {
          if (!streamed || f.getKey().equals("content") || f.getKey().equals("text")) {
            if (!out.isEmpty()) {
              out.append(sep);
            }
            out.append(v.asText());
          }
        } else {
          collect(v, out, streamed, sep);
        }
      }
    } else if (n.isArray()) {
      for (JsonNode v : n) {
        if (v.isTextual() && !streamed) {
          if (!out.isEmpty()) {
            out.append(sep);
          }
          out.append(v.asText());
        } else {
          collect(v, out, streamed, sep);
        }
      }
    }
  }

  /**
   * Whether two answers differ: different statuses, or different bodies. JSON bodies are
   * compared as JSON without the fields that differ on every call (ids, timestamps, usage).
   */
  static boolean differs(int statusA, byte[] a, int statusB, byte[] b) {
    if (statusA != statusB) {
      return true;
    }
    if (Arrays.equals(a, b)) {
      return false;
    }
    try {
      JsonNode ja = Json.mapper().readTree(a);
      JsonNode jb = Json.mapper().readTree(b);
      if (ja instanceof ObjectNode oa && jb instanceof ObjectNode ob) {
        oa.remove(VOLATILE);
        ob.remove(VOLATILE);
      }
      return !ja.equals(jb);
    } catch (java.io.IOException | RuntimeException e) {
      return true;
    }
  }

  @Override
  public void close() {
    closed = true;
    for (Thread t : workers) {
      t.interrupt();
    }
  }
}

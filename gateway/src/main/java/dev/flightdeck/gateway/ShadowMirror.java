package dev.flightdeck.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.gateway.routing.VersionTarget;
import dev.flightdeck.gateway.telemetry.GatewayMetrics;
import dev.flightdeck.gateway.telemetry.RequestRecord;
import dev.flightdeck.gateway.telemetry.Usage;
import dev.flightdeck.gateway.telemetry.VersionWindows;
import dev.flightdeck.gateway.upstream.Endpoint;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
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

  /** One request to mirror, with the primary's answer to compare with. */
  record Mirror(String agent, VersionTarget target, String method, String path, String query,
      List<Map.Entry<String, String>> headers, byte[] body, int primaryStatus, byte[] primaryBody,
      String compare) {}

  private final HttpClient client;
  private final GatewayMetrics metrics;
  private final VersionWindows windows;
  private final Consumer<RequestRecord> sink;
  private final BlockingQueue<Mirror> queue;
  private final Thread[] workers;
  private final AtomicLong dropped = new AtomicLong();
  private volatile boolean closed;

  ShadowMirror(HttpClient client, GatewayMetrics metrics, VersionWindows windows, Consumer<RequestRecord> sink,
      int queueSize, int workers) {
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
      boolean different = "none".equals(m.compare()) ? false : m.primaryBody() == null
          ? resp.getStatus() != m.primaryStatus()
          : differs(m.primaryStatus(), m.primaryBody(), resp.getStatus(), body);
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
        usage.promptTokens(), usage.completionTokens(), usage.cachedTokens(), usage.costUsd(), true));
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

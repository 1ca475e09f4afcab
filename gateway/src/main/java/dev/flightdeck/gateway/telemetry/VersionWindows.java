package dev.flightdeck.gateway.telemetry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.store.gateway.WindowStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Sliding windows of per-version telemetry: one bucket per second for the last
 * {@value #SECONDS} seconds, kept in memory for the in-process rollout controller and written
 * to the store (one row per replica, version and second) for controllers on other replicas.
 */
public final class VersionWindows {

  /** Seconds kept in memory. */
  public static final int SECONDS = 600;

  private final Map<String, Ring> rings = new ConcurrentHashMap<>();

  /** Adds a request to its version's current second. */
  public void record(RequestRecord r) {
    rings.computeIfAbsent(r.version(), v -> new Ring()).record(r, System.currentTimeMillis() / 1000);
  }

  /** Records the outcome of a mirrored request to {@code version}. */
  public void recordShadow(String version, boolean failed, boolean different) {
    rings.computeIfAbsent(version, v -> new Ring())
        .recordShadow(failed, different, System.currentTimeMillis() / 1000);
  }

  /** A version's traffic over the last {@code window} (whole seconds, the current one included). */
  public WindowStats stats(String version, Duration window) {
    Ring ring = rings.get(version);
    WindowStats empty = new WindowStats(0, 0, new LatencyHistogram(), new LatencyHistogram(), 0, 0, 0, 0, 0, 0);
    if (ring == null) {
      return empty;
    }
    long now = System.currentTimeMillis() / 1000;
    return ring.sum(now - Math.min(SECONDS - 1, Math.max(0, window.toSeconds() - 1)), now);
  }

  /** Versions with telemetry. */
  public List<String> versions() {
    return List.copyOf(rings.keySet());
  }

  /**
   * Writes the finished seconds since the last call to {@code store}, and drops stored rows
   * older than an hour.
   */
  public void flush(WindowStore store, String replica) {
    long now = System.currentTimeMillis() / 1000;
    List<WindowStore.Row> rows = new ArrayList<>();
    for (Map.Entry<String, Ring> e : rings.entrySet()) {
      for (ObjectNode second : e.getValue().unflushed(now)) {
        rows.add(new WindowStore.Row(replica, e.getKey(), second.path("second").asLong(), Json.write(second)));
      }
    }
    store.write(rows, now - 3600);
  }

  /** Sums stored rows (every replica) of one version into stats. */
  public static WindowStats fromRows(List<WindowStore.Row> rows) {
    Bucket sum = new Bucket();
    for (WindowStore.Row row : rows) {
      Bucket.read(Json.read(row.data()), sum);
    }
    return sum.stats();
  }

  private static final class Ring {
    private final Bucket[] buckets = new Bucket[SECONDS];
    private long flushedThrough;

    Ring() {
      for (int i = 0; i < SECONDS; i++) {
        buckets[i] = new Bucket();
      }
    }

    private Bucket at(long second) {
      Bucket b = buckets[(int) (second % SECONDS)];
      if (b.second != second) {
        b.reset(second);
      }
      return b;
    }

    synchronized void record(RequestRecord r, long second) {
      Bucket b = at(second);
      b.requests++;
      if (r.isError()) {
        b.errors++;
      }
      b.latency.record(r.totalNanos() / 1000);
      if (r.ttfbNanos() >= 0) {
        b.ttfb.record(r.ttfbNanos() / 1000);
      }
      if (r.promptTokens() >= 0 || r.completionTokens() >= 0) {
        b.withUsage++;
        b.tokens += Math.max(0, r.promptTokens()) + Math.max(0, r.completionTokens());
      }
      if (r.costUsd() > 0) {
        b.cost += r.costUsd();
      }
    }

    synchronized void recordShadow(boolean failed, boolean different, long second) {
      Bucket b = at(second);
      b.shadow++;
      if (failed) {
        b.shadowErrors++;
      }
      if (different) {
        b.shadowDifferent++;
      }
    }

    synchronized WindowStats sum(long from, long to) {
      Bucket sum = new Bucket();
      for (long s = from; s <= to; s++) {
        Bucket b = buckets[(int) (s % SECONDS)];
        if (b.second == s) {
          sum.add(b);
        }
      }
      return sum.stats();
    }

    synchronized List<ObjectNode> unflushed(long now) {
      List<ObjectNode> out = new ArrayList<>();
      long from = Math.max(flushedThrough + 1, now - SECONDS + 1);
      // The current second too, partial as it is: rows are replaced by key, so the next flush
      // writes it again complete (and a flush at shutdown loses nothing).
      for (long s = from; s <= now; s++) {
        Bucket b = buckets[(int) (s % SECONDS)];
        if (b.second == s && (b.requests > 0 || b.shadow > 0)) {
          out.add(b.toJson());
        }
      }
      flushedThrough = now - 1;
      return out;
    }
  }

  private static final class Bucket {
    long second = -1;
    long requests;
    long errors;
    long tokens;
    long withUsage;
    double cost;
    long shadow;
    long shadowErrors;
    long shadowDifferent;
    final LatencyHistogram latency = new LatencyHistogram();
    final LatencyHistogram ttfb = new LatencyHistogram();

    void reset(long s) {
      second = s;
      requests = errors = tokens = withUsage = shadow = shadowErrors = shadowDifferent = 0;
      cost = 0;
      latency.clear();
      ttfb.clear();
    }

    void add(Bucket b) {
      requests += b.requests;
      errors += b.errors;
      tokens += b.tokens;
      withUsage += b.withUsage;
      cost += b.cost;
      shadow += b.shadow;
      shadowErrors += b.shadowErrors;
      shadowDifferent += b.shadowDifferent;
      latency.add(b.latency);
      ttfb.add(b.ttfb);
    }

    WindowStats stats() {
      LatencyHistogram l = new LatencyHistogram();
      l.add(latency);
      LatencyHistogram t = new LatencyHistogram();
      t.add(ttfb);
      return new WindowStats(requests, errors, l, t, tokens, withUsage, cost, shadow, shadowErrors, shadowDifferent);
    }

    ObjectNode toJson() {
      ObjectNode o = Json.object();
      o.put("second", second).put("requests", requests).put("errors", errors).put("tokens", tokens)
          .put("withUsage", withUsage).put("costUsd", cost).put("shadow", shadow)
          .put("shadowErrors", shadowErrors).put("shadowDifferent", shadowDifferent);
      o.set("latency", sparse(latency));
      o.set("ttfb", sparse(ttfb));
      return o;
    }

    private static ArrayNode sparse(LatencyHistogram h) {
      ArrayNode a = Json.mapper().createArrayNode();
      for (int i = 0; i < LatencyHistogram.BUCKETS; i++) {
        if (h.count(i) > 0) {
          a.add(i).add(h.count(i));
        }
      }
      return a;
    }

    static void read(JsonNode o, Bucket into) {
      into.requests += o.path("requests").asLong();
      into.errors += o.path("errors").asLong();
      into.tokens += o.path("tokens").asLong();
      into.withUsage += o.path("withUsage").asLong();
      into.cost += o.path("costUsd").asDouble();
      into.shadow += o.path("shadow").asLong();
      into.shadowErrors += o.path("shadowErrors").asLong();
      into.shadowDifferent += o.path("shadowDifferent").asLong();
      readSparse(o.path("latency"), into.latency);
      readSparse(o.path("ttfb"), into.ttfb);
    }

    private static void readSparse(JsonNode a, LatencyHistogram h) {
      for (int i = 0; i + 1 < a.size(); i += 2) {
        int bucket = a.get(i).asInt();
        if (bucket >= 0 && bucket < LatencyHistogram.BUCKETS) {
          h.add(bucket, a.get(i + 1).asLong());
        }
      }
    }
  }
}

package dev.flightdeck.gateway.telemetry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.store.gateway.WindowStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * Sliding windows of per-version telemetry: one bucket per second for the last
 * {@value #SECONDS} seconds, kept in memory for the in-process rollout controller and written
 * to the store (one row per replica, version and second) for controllers on other replicas.
 * Recording a request without custom metrics allocates nothing; a bucket's custom-metric arrays
 * are made on its first custom metric and reused from then on.
 */
public final class VersionWindows {

  /** Seconds kept in memory. */
  public static final int SECONDS = 600;

  private static final System.Logger LOG = System.getLogger(VersionWindows.class.getName());
  private static final AtomicBoolean WARNED_MALFORMED = new AtomicBoolean();

  private final Map<String, Ring> rings = new ConcurrentHashMap<>();
  private final LongSupplier clock;

  /** Windows on the system clock. */
  public VersionWindows() {
    this(() -> System.currentTimeMillis() / 1000);
  }

  /** Windows on a clock of epoch seconds (tests). */
  VersionWindows(LongSupplier epochSeconds) {
    this.clock = epochSeconds;
  }

  /** Adds a request to its version's current second. */
  public void record(RequestRecord r) {
    rings.computeIfAbsent(r.version(), v -> new Ring()).record(r, clock.getAsLong());
  }

  /** Records the outcome of a mirrored request to {@code version}. */
  public void recordShadow(String version, boolean failed, boolean different) {
    rings.computeIfAbsent(version, v -> new Ring())
        .recordShadow(failed, different, clock.getAsLong());
  }

  /** A version's traffic over the last {@code window} (whole seconds, the current one included). */
  public WindowStats stats(String version, Duration window) {
    long now = clock.getAsLong();
    return stats(version, now - Math.min(SECONDS - 1, Math.max(0, window.toSeconds() - 1)), now, now);
  }

  /**
   * A version's traffic from second {@code fromEpochSecond} to second {@code toEpochSecond}, both
   * included; seconds older than the last {@value #SECONDS} (or in the future) add nothing.
   */
  public WindowStats stats(String version, long fromEpochSecond, long toEpochSecond) {
    return stats(version, fromEpochSecond, toEpochSecond, clock.getAsLong());
  }

  private WindowStats stats(String version, long from, long to, long now) {
    Ring ring = rings.get(version);
    long first = Math.max(from, now - SECONDS + 1);
    long last = Math.min(to, now);
    if (ring == null || first > last) {
      return new Bucket().stats();
    }
    return ring.sum(first, last);
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
    long now = clock.getAsLong();
    List<WindowStore.Row> rows = new ArrayList<>();
    for (Map.Entry<String, Ring> e : rings.entrySet()) {
      for (ObjectNode second : e.getValue().unflushed(now)) {
        rows.add(new WindowStore.Row(replica, e.getKey(), second.path("second").asLong(), Json.write(second)));
      }
    }
    store.write(rows, now - 3600);
  }

  /**
   * Sums stored rows (every replica) of one version into stats. Rows written before a field
   * existed count it as 0; a malformed row is skipped (the first one logged at WARNING).
   */
  public static WindowStats fromRows(List<WindowStore.Row> rows) {
    Bucket sum = new Bucket();
    Bucket row = new Bucket();
    for (WindowStore.Row r : rows) {
      row.reset(r.second());
      try {
        Bucket.read(Json.read(r.data()), row);
      } catch (RuntimeException e) {
        malformed(r, e);
        continue;
      }
      sum.add(row);
    }
    return sum.stats();
  }

  private static void malformed(WindowStore.Row r, RuntimeException e) {
    String what = "skipped a malformed telemetry row (replica " + r.replica() + ", version " + r.version()
        + ", second " + r.second() + "): " + e.getMessage();
    if (WARNED_MALFORMED.compareAndSet(false, true)) {
      LOG.log(System.Logger.Level.WARNING, what + "; rows are dropped after an hour, and further malformed"
          + " rows are logged at DEBUG only");
    } else {
      LOG.log(System.Logger.Level.DEBUG, what);
    }
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
        long tokens = Math.max(0, r.promptTokens()) + Math.max(0, r.completionTokens());
        b.withUsage++;
        b.tokens += tokens;
        b.tokensSquared += (double) tokens * tokens;
      }
      double cost = r.costUsd();
      if (cost >= 0 && cost < Double.POSITIVE_INFINITY) {
        b.withCost++;
        b.cost += cost;
        b.costSquared += cost * cost;
      }
      if (!r.metrics().isEmpty()) {
        for (Map.Entry<String, Double> m : r.metrics().entrySet()) {
          double v = m.getValue();
          b.custom().add(m.getKey(), 1, v, v * v, MetricHeaders.MAX_METRICS);
        }
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
    double tokensSquared;
    long withUsage;
    double cost;
    double costSquared;
    long withCost;
    long shadow;
    long shadowErrors;
    long shadowDifferent;
    final LatencyHistogram latency = new LatencyHistogram();
    final LatencyHistogram ttfb = new LatencyHistogram();
    /** Created on the first custom metric, then kept: most versions never report one. */
    private Custom custom;

    Custom custom() {
      if (custom == null) {
        custom = new Custom();
      }
      return custom;
    }

    void reset(long s) {
      second = s;
      requests = errors = tokens = withUsage = withCost = shadow = shadowErrors = shadowDifferent = 0;
      cost = costSquared = tokensSquared = 0;
      latency.clear();
      ttfb.clear();
      if (custom != null) {
        custom.clear();
      }
    }

    void add(Bucket b) {
      requests += b.requests;
      errors += b.errors;
      tokens += b.tokens;
      tokensSquared += b.tokensSquared;
      withUsage += b.withUsage;
      cost += b.cost;
      costSquared += b.costSquared;
      withCost += b.withCost;
      shadow += b.shadow;
      shadowErrors += b.shadowErrors;
      shadowDifferent += b.shadowDifferent;
      latency.add(b.latency);
      ttfb.add(b.ttfb);
      if (b.custom != null) {
        for (int i = 0; i < b.custom.size; i++) {
          // A window sums many seconds, each with its own 16 names at most: no limit here.
          custom().add(b.custom.names[i], b.custom.counts[i], b.custom.sums[i], b.custom.squares[i],
              Integer.MAX_VALUE);
        }
      }
    }

    WindowStats stats() {
      LatencyHistogram l = new LatencyHistogram();
      l.add(latency);
      LatencyHistogram t = new LatencyHistogram();
      t.add(ttfb);
      Map<String, MetricMoments> moments = Map.of();
      if (custom != null && custom.size > 0) {
        moments = new HashMap<>();
        for (int i = 0; i < custom.size; i++) {
          moments.put(custom.names[i], new MetricMoments(custom.counts[i], custom.sums[i], custom.squares[i]));
        }
      }
      return new WindowStats(requests, errors, l, t, tokens, withUsage, cost, shadow, shadowErrors, shadowDifferent,
          tokensSquared, withCost, costSquared, moments);
    }

    ObjectNode toJson() {
      ObjectNode o = Json.object();
      o.put("second", second).put("requests", requests).put("errors", errors).put("tokens", tokens)
          .put("tokensSquared", tokensSquared).put("withUsage", withUsage).put("costUsd", cost)
          .put("withCost", withCost).put("costSquared", costSquared).put("shadow", shadow)
          .put("shadowErrors", shadowErrors).put("shadowDifferent", shadowDifferent);
      o.set("latency", sparse(latency));
      o.set("ttfb", sparse(ttfb));
      ObjectNode c = o.putObject("custom");
      if (custom != null) {
        for (int i = 0; i < custom.size; i++) {
          c.putArray(custom.names[i]).add(custom.counts[i]).add(custom.sums[i]).add(custom.squares[i]);
        }
      }
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

    /** Adds a stored row to {@code into}; throws when the row is not a telemetry object. */
    static void read(JsonNode o, Bucket into) {
      if (!o.isObject()) {
        throw new IllegalArgumentException("a telemetry row must be a JSON object, not " + o.getNodeType());
      }
      into.requests += o.path("requests").asLong();
      into.errors += o.path("errors").asLong();
      into.tokens += o.path("tokens").asLong();
      into.tokensSquared += o.path("tokensSquared").asDouble();
      into.withUsage += o.path("withUsage").asLong();
      into.cost += o.path("costUsd").asDouble();
      into.withCost += o.path("withCost").asLong();
      into.costSquared += o.path("costSquared").asDouble();
      into.shadow += o.path("shadow").asLong();
      into.shadowErrors += o.path("shadowErrors").asLong();
      into.shadowDifferent += o.path("shadowDifferent").asLong();
      readSparse(o.path("latency"), into.latency);
      readSparse(o.path("ttfb"), into.ttfb);
      JsonNode custom = o.path("custom");
      if (custom.isMissingNode() || custom.isNull()) {
        return;
      }
      if (!custom.isObject()) {
        throw new IllegalArgumentException("'custom' must be an object of [count, sum, sumSquares] arrays");
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = custom.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> m = it.next();
        JsonNode a = m.getValue();
        if (!a.isArray() || a.size() != 3 || !a.get(0).isIntegralNumber() || a.get(0).asLong() < 0
            || !a.get(1).isNumber() || !a.get(2).isNumber()) {
          throw new IllegalArgumentException("custom metric '" + m.getKey() + "' must be [count, sum, sumSquares]"
              + " with a count of 0 or more, not " + a);
        }
        into.custom().add(m.getKey(), a.get(0).asLong(), a.get(1).asDouble(), a.get(2).asDouble(), Integer.MAX_VALUE);
      }
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

  /**
   * Count, sum and sum of squares by metric name, in parallel arrays searched linearly (a
   * second holds {@value MetricHeaders#MAX_METRICS} names at most). Cleared, not freed, on reuse.
   */
  private static final class Custom {
    String[] names = new String[4];
    long[] counts = new long[4];
    double[] sums = new double[4];
    double[] squares = new double[4];
    int size;

    void add(String name, long count, double sum, double sumSquares, int limit) {
      int i = 0;
      while (i < size && !names[i].equals(name)) {
        i++;
      }
      if (i == size) {
        if (size >= limit) {
          return;
        }
        if (size == names.length) {
          int n = size * 2;
          names = Arrays.copyOf(names, n);
          counts = Arrays.copyOf(counts, n);
          sums = Arrays.copyOf(sums, n);
          squares = Arrays.copyOf(squares, n);
        }
        names[i] = name;
        counts[i] = 0;
        sums[i] = 0;
        squares[i] = 0;
        size++;
      }
      counts[i] += count;
      sums[i] += sum;
      squares[i] += sumSquares;
    }

    void clear() {
      Arrays.fill(names, 0, size, null);
      size = 0;
    }
  }
}

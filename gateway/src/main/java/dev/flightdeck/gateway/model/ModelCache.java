package dev.flightdeck.gateway.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The model gateway's response cache, opt-in per agent: exact (the same request) and semantic
 * (the same request but for the wording of the final user message).
 *
 * <p>What it guarantees: an answer is served only to the tenant that stored it (the agent, or the
 * agents of one share group), only within its time to live, and a semantic answer only when the
 * model, parameters, tools, system prompt and every earlier message are identical (the partition,
 * see {@link #key}), the two last user messages are at least {@code minSimilarity} alike, and
 * their numbers, negations, opposites and names agree ({@link Facts}). Memory stays under
 * {@code maxBytes} of stored bodies and {@code maxEntries} per tenant, least recently used first.
 *
 * <p>What it must never do: hold its lock while embedding (tens of milliseconds on the caller's
 * virtual thread) or while comparing vectors; both happen on a copy taken under the lock, which
 * only guards map updates. It uses a {@link ReentrantLock}, not {@code synchronized}, so a
 * waiting virtual thread does not pin its carrier on Java 21.
 */
public final class ModelCache {

  private static final System.Logger LOG = System.getLogger(ModelCache.class.getName());
  /** How often expired entries are swept out (they are never served in between). */
  private static final Duration SWEEP_EVERY = Duration.ofMinutes(1);
  /** Query embeddings kept from a missed lookup for the store that usually follows it. */
  private static final int PENDING_EMBEDDINGS = 256;

  /**
   * The cache key parts of a request.
   *
   * @param tenant whose entries these are: {@code agent:<name>}, or {@code group:<shareGroup>}
   * @param partition hash of the tenant and the whole request but the final user message's text
   * @param exact hash of the tenant and the whole request
   * @param lastUserText the final user message's text; empty when the final message is not a
   *     user's text (then only exact lookups are made)
   */
  public record Key(String tenant, String partition, String exact, String lastUserText) {
    /** Checks that no part is missing. */
    public Key {
      if (tenant == null || partition == null || exact == null || lastUserText == null) {
        throw new IllegalArgumentException("cache key parts must not be null");
      }
    }
  }

  /**
   * A cached answer: the upstream's non-streaming chat.completion body (treat as read-only) and
   * its usage, so that the tokens a hit saves can be metered.
   */
  public record Entry(byte[] body, long promptTokens, long completionTokens, String model) {
    /** Checks the values. */
    public Entry {
      if (body == null || model == null) {
        throw new IllegalArgumentException("a cache entry needs a body and a model");
      }
      if (promptTokens < 0 || completionTokens < 0) {
        throw new IllegalArgumentException("token counts must not be negative");
      }
    }
  }

  /** A lookup that found an answer; {@code similarity} is 1 for exact hits. */
  public record Hit(Entry entry, boolean semantic, double similarity) {}

  /** Counters since the cache was made, and its size now. */
  public record Stats(long exactHits, long semanticHits, long misses, long stores, long evictions,
      long savedTokens, long entries, long bytes) {}

  /** One stored answer; immutable but for its place in the LRU maps. */
  private record Stored(Key key, Entry entry, long storedAt, long expiresAt, float[] vector, Facts facts) {
    boolean liveFor(long now, CacheSettings reader) {
      return now < expiresAt && now - storedAt < reader.ttl().toMillis();
    }
  }

  /** One tenant's entries: in LRU order, and by partition for semantic scans. */
  private static final class Tenant {
    final LinkedHashMap<String, Stored> lru = new LinkedHashMap<>(16, 0.75f, true);
    final Map<String, List<Stored>> partitions = new HashMap<>();
  }

  private final Embedder embedder;
  private final long maxBytes;
  private final Clock clock;
  private final AtomicBoolean embedderFailed = new AtomicBoolean();

  private final ReentrantLock lock = new ReentrantLock();
  /** Every entry by exact key (which includes the tenant), least recently used first. */
  private final LinkedHashMap<String, Stored> all = new LinkedHashMap<>(16, 0.75f, true);
  private final Map<String, Tenant> tenants = new HashMap<>();
  private final LinkedHashMap<String, float[]> pending = new LinkedHashMap<>(16, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, float[]> eldest) {
      return size() > PENDING_EMBEDDINGS;
    }
  };
  private long bytes;
  private long nextSweep;

  private final LongAdder exactHits = new LongAdder();
  private final LongAdder semanticHits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder stores = new LongAdder();
  private final LongAdder evictions = new LongAdder();
  private final LongAdder savedTokens = new LongAdder();

  /**
   * A cache holding at most {@code maxBytes} of response bodies. {@code embedder} may be null:
   * then semantic lookups are skipped and only exact ones are made.
   */
  public ModelCache(Embedder embedder, long maxBytes, Clock clock) {
    if (maxBytes < 1) {
      throw new IllegalArgumentException("cache maxBytes must be positive, got " + maxBytes);
    }
    if (clock == null) {
      throw new IllegalArgumentException("the cache needs a clock");
    }
    this.embedder = embedder;
    this.maxBytes = maxBytes;
    this.clock = clock;
    this.nextSweep = clock.millis() + SWEEP_EVERY.toMillis();
  }

  /**
   * The cache key of a chat.completions request, or empty when it must not be cached.
   *
   * <p>The key covers every field but {@code stream}, {@code stream_options}, {@code user},
   * {@code metadata}, {@code store}, {@code safety_identifier} and {@code prompt_cache_key}, with
   * object keys sorted and numbers normalised, so field order and {@code 0} versus {@code 0.0} do
   * not matter; tools, {@code tool_choice}, {@code response_format}, {@code seed} and every
   * sampling parameter are part of it. Not cached: caching switched off, no model or messages,
   * {@code n} other than 1 (the caller asked for several different samples), and {@code store:
   * true} (the upstream was asked to keep the completion, which a hit would skip). Requests
   * sampled at a temperature above 0 without a seed are cached: the agent opted in to replayed
   * answers, and the API's default temperature is 1, so refusing them would leave little to
   * cache. Streamed requests are cached; the stored answer is the non-streaming body.
   */
  public static Optional<Key> key(String agent, CacheSettings s, ObjectNode chatRequest) {
    return RequestKeys.key(agent, s, chatRequest);
  }

  /**
   * The cached answer to {@code key}: an exact hit first, then (when {@code s.semantic()} and
   * there is an embedder) the most similar entry of the same tenant and partition with
   * similarity at least {@code s.minSimilarity()} whose facts agree. Identical requests are
   * answered whenever caching is on, as the semantic cache would answer them anyway. Entries older
   * than the reader's or the writer's time to live are never returned.
   */
  public Optional<Hit> lookup(Key key, CacheSettings s) {
    long now = clock.millis();
    List<Stored> candidates = List.of();
    lock.lock();
    try {
      Stored exact = all.get(key.exact());
      if (exact != null && exact.key().tenant().equals(key.tenant())) {
        if (exact.liveFor(now, s)) {
          tenants.get(key.tenant()).lru.get(key.exact());
          return Optional.of(hit(exact, false, 1.0));
        }
        if (now >= exact.expiresAt()) {
          remove(exact);
        }
      }
      if (semanticOn(key, s)) {
        Tenant t = tenants.get(key.tenant());
        List<Stored> inPartition = t == null ? null : t.partitions.get(key.partition());
        if (inPartition != null) {
          candidates = List.copyOf(inPartition);
        }
      }
    } finally {
      lock.unlock();
    }
    Optional<Hit> semantic = candidates.isEmpty() ? Optional.empty() : nearest(key, s, candidates, now);
    if (semantic.isEmpty()) {
      misses.increment();
    }
    return semantic;
  }

  /**
   * Stores an answer (the caller stores only successful, complete ones), replacing one under the
   * same exact key, then evicts the least recently used entries beyond {@code s.maxEntries()} in
   * the tenant and beyond {@code maxBytes} in the whole cache (in a share group, the storing
   * agent's {@code maxEntries} applies). A body larger than {@code maxBytes} is not stored. With
   * {@code s.semantic()} the last user text is embedded here, unless the lookup that missed just
   * before did it.
   */
  public void store(Key key, CacheSettings s, Entry entry) {
    if (!s.enabled() || entry.body().length > maxBytes) {
      return;
    }
    long now = clock.millis();
    float[] vector = null;
    Facts facts = null;
    if (semanticOn(key, s)) {
      lock.lock();
      try {
        vector = pending.remove(key.exact());
      } finally {
        lock.unlock();
      }
      vector = vector != null ? vector : embed(key.lastUserText());
      facts = vector == null ? null : Facts.of(key.lastUserText());
    }
    Stored stored = new Stored(key, entry, now, now + s.ttl().toMillis(), vector, facts);
    lock.lock();
    try {
      if (now >= nextSweep) {
        sweep(now);
      }
      Stored old = all.get(key.exact());
      if (old != null) {
        remove(old);
      }
      Tenant t = tenants.computeIfAbsent(key.tenant(), k -> new Tenant());
      all.put(key.exact(), stored);
      t.lru.put(key.exact(), stored);
      if (vector != null) {
        t.partitions.computeIfAbsent(key.partition(), k -> new ArrayList<>()).add(stored);
      }
      bytes += entry.body().length;
      stores.increment();
      while (t.lru.size() > s.maxEntries()) {
        evict(t.lru.values().iterator().next());
      }
      while (bytes > maxBytes) {
        evict(all.values().iterator().next());
      }
    } finally {
      lock.unlock();
    }
  }

  /** Counters and size. */
  public Stats stats() {
    long entries;
    long size;
    lock.lock();
    try {
      entries = all.size();
      size = bytes;
    } finally {
      lock.unlock();
    }
    return new Stats(exactHits.sum(), semanticHits.sum(), misses.sum(), stores.sum(), evictions.sum(),
        savedTokens.sum(), entries, size);
  }

  private boolean semanticOn(Key key, CacheSettings s) {
    return s.semantic() && embedder != null && !key.lastUserText().isBlank();
  }

  /** The best semantic match among a partition's entries; runs without the lock. */
  private Optional<Hit> nearest(Key key, CacheSettings s, List<Stored> candidates, long now) {
    float[] query = embed(key.lastUserText());
    if (query == null) {
      return Optional.empty();
    }
    Facts facts = Facts.of(key.lastUserText());
    Stored best = null;
    double bestSimilarity = -1;
    for (Stored c : candidates) {
      if (c.vector() == null || c.vector().length != query.length || !c.liveFor(now, s)) {
        continue;
      }
      double similarity = dot(query, c.vector());
      if (similarity >= s.minSimilarity() && similarity > bestSimilarity && c.facts().conflictWith(facts).isEmpty()) {
        best = c;
        bestSimilarity = similarity;
      }
    }
    lock.lock();
    try {
      if (best == null) {
        pending.put(key.exact(), query);
        return Optional.empty();
      }
      if (all.get(best.key().exact()) == best) {
        tenants.get(best.key().tenant()).lru.get(best.key().exact());
      }
    } finally {
      lock.unlock();
    }
    return Optional.of(hit(best, true, Math.min(1.0, bestSimilarity)));
  }

  private Hit hit(Stored s, boolean semantic, double similarity) {
    (semantic ? semanticHits : exactHits).increment();
    savedTokens.add(s.entry().promptTokens() + s.entry().completionTokens());
    return new Hit(s.entry(), semantic, similarity);
  }

  /** The text's embedding scaled to length 1 (so a dot product is the cosine), or null if it failed. */
  private float[] embed(String text) {
    float[] v;
    try {
      v = embedder.embed(text);
    } catch (RuntimeException e) {
      if (embedderFailed.compareAndSet(false, true)) {
        LOG.log(System.Logger.Level.WARNING, "semantic cache lookups are skipped: the embedder failed", e);
      }
      return null;
    }
    if (v == null || v.length == 0) {
      return null;
    }
    double norm = 0;
    for (float x : v) {
      norm += (double) x * x;
    }
    float[] unit = new float[v.length];
    if (norm > 0) {
      double scale = 1 / Math.sqrt(norm);
      for (int i = 0; i < v.length; i++) {
        unit[i] = (float) (v[i] * scale);
      }
    }
    return unit;
  }

  private static double dot(float[] a, float[] b) {
    double sum = 0;
    for (int i = 0; i < a.length; i++) {
      sum += (double) a[i] * b[i];
    }
    return sum;
  }

  private void evict(Stored s) {
    remove(s);
    evictions.increment();
  }

  /** Removes an entry from every map; under the lock. */
  private void remove(Stored s) {
    Key k = s.key();
    if (all.get(k.exact()) != s) {
      return;
    }
    all.remove(k.exact());
    bytes -= s.entry().body().length;
    Tenant t = tenants.get(k.tenant());
    t.lru.remove(k.exact());
    List<Stored> partition = t.partitions.get(k.partition());
    if (partition != null) {
      partition.removeIf(x -> x == s);
      if (partition.isEmpty()) {
        t.partitions.remove(k.partition());
      }
    }
    if (t.lru.isEmpty()) {
      tenants.remove(k.tenant());
    }
  }

  /** Drops every expired entry; under the lock, at most once per {@link #SWEEP_EVERY}. */
  private void sweep(long now) {
    nextSweep = now + SWEEP_EVERY.toMillis();
    List<Stored> expired = new ArrayList<>();
    for (Iterator<Stored> it = all.values().iterator(); it.hasNext(); ) {
      Stored s = it.next();
      if (now >= s.expiresAt()) {
        expired.add(s);
      }
    }
    expired.forEach(this::remove);
  }
}

package dev.flightdeck.gateway.model;

import java.time.Duration;

/**
 * An agent's response cache settings ({@code spec.modelGateway.cache}).
 *
 * @param exact answer identical requests from the cache
 * @param semantic also answer requests whose last user message means the same as a cached one's,
 *     everything else in the request being identical (see {@link ModelCache})
 * @param minSimilarity the least cosine similarity of two last user messages for a semantic hit,
 *     from {@value #MIN_ALLOWED_SIMILARITY} to 1
 * @param ttl how long an answer may be served after it was stored
 * @param maxEntries the most entries the tenant (the agent, or its share group) keeps
 * @param shareGroup null keeps entries private to the agent; agents naming the same group read
 *     and write the same entries
 */
public record CacheSettings(
    boolean exact, boolean semantic, double minSimilarity, Duration ttl, int maxEntries, String shareGroup) {

  /** The default least similarity for a semantic hit. */
  public static final double DEFAULT_MIN_SIMILARITY = 0.95;
  /**
   * The lowest least similarity accepted. MiniLM scores different support questions from 0.70 to
   * 0.95 ("cancel" and "renew my subscription" 0.78, "refund order 1234" and "5678" 0.85, "ticket
   * 42" and "43" 0.91: ModelCacheTest prints the table), so below 0.9 the facts guard alone would
   * stand between them; the report of a peer's cache answering unrelated queries (LiteLLM issue
   * 12234) ran at 0.8.
   */
  public static final double MIN_ALLOWED_SIMILARITY = 0.9;
  /** The default time to live. */
  public static final Duration DEFAULT_TTL = Duration.ofHours(1);
  /** The default number of entries per tenant. */
  public static final int DEFAULT_MAX_ENTRIES = 10_000;

  /** Checks the values. */
  public CacheSettings {
    if (!(minSimilarity >= MIN_ALLOWED_SIMILARITY && minSimilarity <= 1.0)) {
      throw new IllegalArgumentException("cache minSimilarity must be from " + MIN_ALLOWED_SIMILARITY
          + " to 1, got " + minSimilarity);
    }
    if (ttl == null || ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("cache ttl must be positive, got " + ttl);
    }
    if (maxEntries < 1) {
      throw new IllegalArgumentException("cache maxEntries must be at least 1, got " + maxEntries);
    }
    if (shareGroup != null && shareGroup.isBlank()) {
      throw new IllegalArgumentException("cache shareGroup must not be blank; leave it out to keep entries private");
    }
  }

  /** Private to the agent, with the default similarity, time to live and size. */
  public static CacheSettings of(boolean exact, boolean semantic) {
    return new CacheSettings(exact, semantic, DEFAULT_MIN_SIMILARITY, DEFAULT_TTL, DEFAULT_MAX_ENTRIES, null);
  }

  /** A copy shared with every agent naming {@code group}. */
  public CacheSettings sharedWith(String group) {
    return new CacheSettings(exact, semantic, minSimilarity, ttl, maxEntries, group);
  }

  /** Whether anything is cached at all. */
  public boolean enabled() {
    return exact || semantic;
  }
}

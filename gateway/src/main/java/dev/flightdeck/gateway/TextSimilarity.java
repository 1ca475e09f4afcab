package dev.flightdeck.gateway;

/**
 * How similar two texts are in meaning, from -1 to 1 (about 1 for paraphrases). The gateway
 * uses it to compare a shadow's answer with the primary's when {@code compare: semantic}; the
 * server gives it the MiniLM model, loaded on the first comparison.
 */
@FunctionalInterface
public interface TextSimilarity {

  /** Cosine similarity of the two texts' embeddings. */
  double similarity(String a, String b);
}

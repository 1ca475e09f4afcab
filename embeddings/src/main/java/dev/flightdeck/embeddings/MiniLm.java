package dev.flightdeck.embeddings;

import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.embedding.onnx.allminilml6v2.AllMiniLmL6V2EmbeddingModel;

/**
 * The all-MiniLM-L6-v2 sentence embedding model (384 dimensions), run in process by ONNX Runtime
 * from the model file inside its Maven jar: no network, no model hub. Loading takes a few seconds
 * and a few hundred megabytes, so there is one shared instance, loaded on first use: callers ask
 * for it only when a semantic feature is switched on. Thread-safe.
 */
public final class MiniLm {

  private static volatile MiniLm shared;

  private final EmbeddingModel model;

  private MiniLm() {
    this.model = new AllMiniLmL6V2EmbeddingModel();
  }

  /** The shared model, loaded on the first call. */
  public static MiniLm shared() {
    MiniLm m = shared;
    if (m == null) {
      synchronized (MiniLm.class) {
        m = shared;
        if (m == null) {
          m = new MiniLm();
          shared = m;
        }
      }
    }
    return m;
  }

  /** Dimensions of an embedding. */
  public static final int DIMENSIONS = 384;

  /**
   * The embedding of {@code text} (long texts are cut to the model's 256 tokens); all zeros for a
   * blank text, which is similar to nothing.
   */
  public float[] embed(String text) {
    if (text.isBlank()) {
      return new float[DIMENSIONS];
    }
    return model.embed(text).content().vector();
  }

  /** Cosine similarity of two texts' embeddings, from -1 to 1 (about 1 for paraphrases). */
  public double similarity(String a, String b) {
    if (a.equals(b)) {
      return 1.0;
    }
    return cosine(embed(a), embed(b));
  }

  /** Cosine similarity of two vectors of the same length. */
  public static double cosine(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new IllegalArgumentException("vectors of different lengths: " + a.length + " and " + b.length);
    }
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += (double) a[i] * b[i];
      na += (double) a[i] * a[i];
      nb += (double) b[i] * b[i];
    }
    return na == 0 || nb == 0 ? 0 : dot / Math.sqrt(na * nb);
  }
}

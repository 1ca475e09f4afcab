package dev.flightdeck.gateway.model;

/**
 * Text to embedding vector, for the semantic cache; the gateway itself does not depend on the
 * model. The server passes {@code text -> MiniLm.shared().embed(text)}, so that the model loads on
 * the first semantic store or lookup ({@code MiniLm.shared()::embed} would load it at once, as the
 * method reference evaluates {@code MiniLm.shared()}). Must be thread-safe.
 */
@FunctionalInterface
public interface Embedder {

  /** The embedding of {@code text}; every call returns a vector of the same length. */
  float[] embed(String text);
}

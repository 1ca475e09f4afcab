package dev.flightdeck.store.key;

/**
 * A model key just created: the only moment its secret exists outside the agent's configuration.
 *
 * @param key the stored record
 * @param secret the key to hand to the agent ({@code fdk_...}); Flightdeck keeps only its hash
 */
public record IssuedModelKey(ModelKey key, String secret) {

  @Override
  public String toString() {
    return "IssuedModelKey[" + key + ", secret=***]";
  }
}

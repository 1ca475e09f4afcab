package dev.flightdeck.eval.stats;

/** One case's difference candidate minus baseline. */
public record CaseDifference(String name, double baseline, double candidate, double difference) {

  /** Validates the name. */
  public CaseDifference {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("a case difference needs a non-blank name");
    }
  }
}

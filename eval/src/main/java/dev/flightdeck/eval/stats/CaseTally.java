package dev.flightdeck.eval.stats;

/** Results of one case: passes out of measured runs. */
public record CaseTally(String name, int passes, int runs) {

  /** Validates that the name is not blank and that {@code 0 <= passes <= runs}. */
  public CaseTally {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("a case tally needs a non-blank name");
    }
    if (runs < 0 || passes < 0 || passes > runs) {
      throw new IllegalArgumentException(
          "case '" + name + "': passes must be in [0, runs], got " + passes + " of " + runs);
    }
  }

  /** The observed pass rate; only meaningful when {@code runs > 0}. */
  double rate() {
    return (double) passes / runs;
  }
}

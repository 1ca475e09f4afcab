package dev.flightdeck.rollout.analysis;

import java.util.Locale;

/** What an analysis concluded so far. */
public enum Verdict {
  /** Enough evidence that the candidate is within every limit. */
  PASS,
  /** Enough evidence that the candidate breaks a limit. */
  FAIL,
  /** Not enough evidence either way yet. */
  WAIT;

  /** {@code pass}, {@code fail} or {@code wait}. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }
}

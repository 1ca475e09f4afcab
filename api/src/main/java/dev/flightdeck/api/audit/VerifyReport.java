package dev.flightdeck.api.audit;

import java.util.Optional;

/**
 * The outcome of recomputing the audit chain.
 *
 * @param entries how many entries were checked (up to the first bad one)
 * @param checkpoints how many signed checkpoints were checked
 * @param firstBad the first entry (or checkpoint) that does not match, and why
 */
public record VerifyReport(long entries, long checkpoints, Optional<Finding> firstBad) {

  /** A place where the log does not match what was signed or chained. */
  public record Finding(long seq, String reason) {}

  /** Whether the whole log verified. */
  public boolean ok() {
    return firstBad.isEmpty();
  }

  @Override
  public String toString() {
    return firstBad.map(f -> "TAMPERED at entry " + f.seq() + ": " + f.reason() + " (" + entries + " entries before it verified)")
        .orElse("ok: " + entries + " entries and " + checkpoints + " signed checkpoints verified");
  }
}

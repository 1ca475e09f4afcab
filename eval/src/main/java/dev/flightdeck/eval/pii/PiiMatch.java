package dev.flightdeck.eval.pii;

import java.util.Objects;

/** One finding: its kind and where it is in the text (start inclusive, end exclusive, UTF-16 indices). */
public record PiiMatch(PiiKind kind, int start, int end) {

  /** Checks that the span is a non-empty range starting at or after 0. */
  public PiiMatch {
    Objects.requireNonNull(kind, "kind");
    if (start < 0 || end <= start) {
      throw new IllegalArgumentException("a match needs 0 <= start < end, got [" + start + ", " + end + ")");
    }
  }

  /** The number of UTF-16 chars the match covers. */
  int length() {
    return end - start;
  }
}

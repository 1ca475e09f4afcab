package dev.flightdeck.api.parse;

import java.util.Objects;

/**
 * One problem in an input file: where it is, which field, and what was expected.
 * Printed as {@code agent.yaml:12:5: spec.routes[0].weight: expected an integer 0..100, got "ten"}.
 *
 * @param source file name as the user gave it (or {@code <stdin>})
 * @param line 1-based line, 0 when unknown
 * @param column 1-based column, 0 when unknown
 * @param path field path such as {@code spec.routes[0].weight}; empty for the whole document
 * @param message what was wrong and what was expected
 */
public record Diagnostic(String source, int line, int column, String path, String message) {

  /** Checks the parts. */
  public Diagnostic {
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(message, "message");
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(source);
    if (line > 0) {
      sb.append(':').append(line).append(':').append(column);
    }
    sb.append(": ");
    if (!path.isEmpty()) {
      sb.append(path).append(": ");
    }
    return sb.append(message).toString();
  }
}

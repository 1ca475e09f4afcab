package dev.flightdeck.api;

import dev.flightdeck.api.parse.Diagnostic;
import java.util.List;

/** Input failed parsing or validation; carries every problem found, each with its position. */
public class InvalidResourceException extends FlightdeckException {

  private final List<Diagnostic> diagnostics;

  /** Creates the exception from a non-empty list of problems. */
  public InvalidResourceException(List<Diagnostic> diagnostics) {
    super(summary(diagnostics));
    if (diagnostics.isEmpty()) {
      throw new IllegalArgumentException("an InvalidResourceException needs at least one diagnostic");
    }
    this.diagnostics = List.copyOf(diagnostics);
  }

  /** Every problem found, in file order. */
  public List<Diagnostic> diagnostics() {
    return diagnostics;
  }

  private static String summary(List<Diagnostic> diagnostics) {
    StringBuilder sb = new StringBuilder();
    sb.append(diagnostics.size()).append(diagnostics.size() == 1 ? " error" : " errors");
    for (Diagnostic d : diagnostics) {
      sb.append(System.lineSeparator()).append(d);
    }
    return sb.toString();
  }
}

package dev.flightdeck.cli;

import dev.flightdeck.api.FlightdeckException;
import java.util.List;

/** A failure to report to the user: the lines to print on stderr, and the exit code. */
final class CliException extends FlightdeckException {

  private final int exitCode;
  private final List<String> lines;

  CliException(int exitCode, List<String> lines) {
    super(String.join("\n", lines));
    this.exitCode = exitCode;
    this.lines = List.copyOf(lines);
  }

  CliException(int exitCode, String line) {
    this(exitCode, List.of(line));
  }

  int exitCode() {
    return exitCode;
  }

  List<String> lines() {
    return lines;
  }
}

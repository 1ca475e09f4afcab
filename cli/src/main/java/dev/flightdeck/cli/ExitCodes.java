package dev.flightdeck.cli;

/** The CLI's exit codes (also listed in `flightdeck --help` and docs/cli.md). */
final class ExitCodes {
  /** Success. */
  static final int OK = 0;
  /** The server refused or failed (conflict, not found, tampering found, server error), or a watched rollout did not promote. */
  static final int FAILED = 1;
  /** Invalid usage or invalid input files. */
  static final int INVALID = 2;
  /** The server could not be reached. */
  static final int UNREACHABLE = 3;
  /** Authentication or authorization failed (401, 403). */
  static final int AUTH = 4;

  private ExitCodes() {}

  static final String[] HELP = {
      "", "Exit codes:",
      "  0  success",
      "  1  refused or failed: conflict, not found, audit tampering found, server error;",
      "     a watched rollout ended rolled back, aborted or undone",
      "  2  invalid usage or invalid resource files (every error is printed as file:line:column: field: message)",
      "  3  the server could not be reached",
      "  4  authentication or authorization failed (missing, unknown or revoked token; role too low)"};
}

package dev.flightdeck.cli;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/** What the CLI knows about where its output goes: a terminal or not, and whether it takes UTF-8. */
final class Terminal {

  private Terminal() {}

  /** Whether the CLI runs on a terminal (Console.isTerminal on JDK 22+, System.console() before); never under CI. */
  static boolean isTerminal() {
    if (System.getenv("CI") != null) {
      return false;
    }
    java.io.Console c = System.console();
    if (c == null) {
      return false;
    }
    try {
      return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(c);
    } catch (ReflectiveOperationException e) {
      return true;
    }
  }

  /** Whether standard output encodes UTF-8, so symbols such as ✓ and ▶ print as themselves rather than as '?'. */
  static boolean unicode() {
    String enc = System.getProperty("stdout.encoding", System.getProperty("native.encoding", ""));
    try {
      return !enc.isEmpty() && Charset.forName(enc).equals(StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}

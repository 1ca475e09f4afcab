package dev.flightdeck.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

/**
 * The demo's timeline: one line per event, stamped with the seconds since the demo began
 * ({@code [  12.3s] ...}), continuation lines indented under it. Symbols (✓, ✗, →) become ASCII
 * when the output is not UTF-8, as in the rollout views.
 */
final class DemoTimeline {

  private static final String INDENT = " ".repeat(10);

  private final PrintWriter out;
  private final boolean unicode;
  private final long startNanos;

  DemoTimeline(PrintWriter out, boolean unicode, long startNanos) {
    this.out = out;
    this.unicode = unicode;
    this.startNanos = startNanos;
  }

  /** Seconds since the demo began. */
  double elapsed() {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  /** An event, and lines that explain it. */
  synchronized void event(String line, List<String> more) {
    print(String.format(Locale.ROOT, "[%6.1fs] ", elapsed()) + line);
    more.forEach(m -> print(INDENT + m));
    out.flush();
  }

  void event(String line) {
    event(line, List.of());
  }

  /** A line without a time stamp (headings, the closing instructions). */
  synchronized void plain(String line) {
    print(line);
    out.flush();
  }

  private void print(String line) {
    out.println(unicode ? line : RolloutView.ascii(line));
  }
}

package dev.flightdeck.cli;

import dev.flightdeck.eval.run.Progress;
import java.io.PrintWriter;
import java.util.Locale;

/** Progress of an eval run: a redrawn bar on a terminal, a plain line every 10% otherwise. */
final class ProgressBar implements Progress {

  private final PrintWriter err;
  private final boolean terminal;
  private final long start = System.nanoTime();
  private long lastDraw;
  private long lastDecile = -1;
  private boolean drawn;

  private ProgressBar(PrintWriter err, boolean terminal) {
    this.err = err;
    this.terminal = terminal;
  }

  static ProgressBar forStderr(PrintWriter err) {
    return new ProgressBar(err, Terminal.isTerminal());
  }

  @Override
  public synchronized void update(long done, long planned, long passed, long failed) {
    long now = System.nanoTime();
    double secs = (now - start) / 1e9;
    if (terminal) {
      if (now - lastDraw < 100_000_000L && done < planned) {
        return;
      }
      lastDraw = now;
      int width = 30;
      int filled = planned == 0 ? width : (int) Math.min(width, done * width / planned);
      err.print(String.format(Locale.ROOT, "\r[%s%s] %d/%d runs  pass %d  fail %d  %.1fs ",
          "#".repeat(filled), ".".repeat(width - filled), done, planned, passed, failed, secs));
      err.flush();
      drawn = true;
      return;
    }
    long decile = planned == 0 ? 10 : done * 10 / planned;
    if (decile != lastDecile) {
      lastDecile = decile;
      err.println(String.format(Locale.ROOT, "progress: %d/%d runs, %d passed, %d failed, %.1fs", done, planned,
          passed, failed, secs));
      err.flush();
    }
  }

  synchronized void finish() {
    if (drawn) {
      err.println();
      err.flush();
    }
  }
}

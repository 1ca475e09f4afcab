package dev.flightdeck.eval.report;

import java.util.Locale;

/** Number formats shared by the renderers. */
final class Fmt {

  private Fmt() {}

  static String p(double d) {
    return String.format(Locale.ROOT, "%.3f", d);
  }

  static String pct(double d) {
    return String.format(Locale.ROOT, "%.1f%%", 100 * d);
  }

  static String signed(double d) {
    return String.format(Locale.ROOT, "%+.3f", d);
  }

  static String seconds(long ms) {
    return String.format(Locale.ROOT, "%.1fs", ms / 1000.0);
  }

  /** pass^k for the largest k measured, e.g. "pass^5 0.800". */
  static String passHat(EvalReport r) {
    var hat = r.summary().passHatK();
    if (hat.isEmpty()) {
      return "";
    }
    int k = hat.lastKey();
    return "pass^" + k + " " + p(hat.get(k));
  }
}

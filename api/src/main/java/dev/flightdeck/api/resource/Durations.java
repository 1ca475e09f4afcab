package dev.flightdeck.api.resource;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as resources spell them: {@code 500ms}, {@code 30s}, {@code 5m}, {@code 2h}, {@code 1h30m}. */
public final class Durations {

  private static final Pattern WHOLE = Pattern.compile("([0-9]+(ms|s|m|h|d))+");
  private static final Pattern PART = Pattern.compile("([0-9]+)(ms|s|m|h|d)");

  private Durations() {}

  /**
   * Parses a duration.
   *
   * @throws IllegalArgumentException naming what was expected when {@code text} is not one
   */
  public static Duration parse(String text) {
    if (text == null || text.length() > 64 || !WHOLE.matcher(text).matches()) {
      throw new IllegalArgumentException(
          "expected a duration such as 500ms, 30s, 5m, 2h or 1h30m, got '" + text + "'");
    }
    Duration total = Duration.ZERO;
    Matcher m = PART.matcher(text);
    while (m.find()) {
      long n = Long.parseLong(m.group(1));
      total = total.plus(switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      });
    }
    return total;
  }

  /** Parses {@code text}, or returns {@code fallback} when it is null or empty. */
  public static Duration parse(String text, Duration fallback) {
    return text == null || text.isEmpty() ? fallback : parse(text);
  }

  /** Formats a duration the way resources spell it: {@code 1h30m}, {@code 45s}, {@code 250ms}. */
  public static String format(Duration d) {
    if (d.isZero()) {
      return "0s";
    }
    StringBuilder sb = new StringBuilder();
    long ms = d.toMillis();
    long[] units = {86_400_000L, 3_600_000L, 60_000L, 1000L, 1L};
    String[] names = {"d", "h", "m", "s", "ms"};
    for (int i = 0; i < units.length; i++) {
      if (ms >= units[i]) {
        sb.append(ms / units[i]).append(names[i]);
        ms %= units[i];
      }
    }
    return sb.toString();
  }
}

package dev.flightdeck.gateway;

import java.util.concurrent.ThreadLocalRandom;

/**
 * W3C Trace Context: continue the caller's trace with a new parent id for the hop to the agent,
 * or start a trace when the caller sent none (or an invalid one).
 */
final class Traceparent {

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private Traceparent() {}

  /** The {@code traceparent} to send upstream, given the incoming one (or null). */
  static String next(String incoming) {
    ThreadLocalRandom rnd = ThreadLocalRandom.current();
    StringBuilder sb = new StringBuilder(55);
    if (valid(incoming)) {
      sb.append(incoming, 0, 36);
      hex(sb, rnd.nextLong() | 1L);
      sb.append(incoming, 52, 55);
    } else {
      sb.append("00-");
      hex(sb, rnd.nextLong() | 1L);
      hex(sb, rnd.nextLong());
      sb.append('-');
      hex(sb, rnd.nextLong() | 1L);
      sb.append("-01");
    }
    return sb.toString();
  }

  /** The trace id (32 hex digits) of a traceparent. */
  static String traceId(String traceparent) {
    return traceparent.substring(3, 35);
  }

  static boolean valid(String s) {
    if (s == null || s.length() != 55 || s.charAt(2) != '-' || s.charAt(35) != '-' || s.charAt(52) != '-'
        || s.startsWith("ff")) {
      return false;
    }
    for (int i = 0; i < 55; i++) {
      char c = s.charAt(i);
      if (i != 2 && i != 35 && i != 52 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return !s.substring(3, 35).equals("0".repeat(32)) && !s.substring(36, 52).equals("0".repeat(16));
  }

  private static void hex(StringBuilder sb, long v) {
    for (int i = 60; i >= 0; i -= 4) {
      sb.append(HEX[(int) (v >>> i) & 0xf]);
    }
  }
}

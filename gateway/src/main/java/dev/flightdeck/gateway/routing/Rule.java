package dev.flightdeck.gateway.routing;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A routing rule: when every condition holds, the request goes to {@code version}. Conditions:
 * headers and cookies with exact values ("*" means present), and a user segment (users named
 * by a header or cookie, listed or a stable share of all users).
 */
public record Rule(
    String name,
    List<Map.Entry<String, String>> headers,
    List<Map.Entry<String, String>> cookies,
    UserSegment user,
    String version) {

  /**
   * A user segment.
   *
   * @param header the header naming the user, or null
   * @param cookie the cookie naming the user, or null
   * @param in listed users, or null
   * @param percent the share of all users (by a stable hash of the user id), or -1
   */
  public record UserSegment(String header, String cookie, Set<String> in, int percent) {

    boolean matches(Function<String, String> headerValue, Function<String, String> cookieValue) {
      String user = header != null ? headerValue.apply(header) : cookieValue.apply(cookie);
      if (user == null || user.isEmpty()) {
        return false;
      }
      if (in != null && in.contains(user)) {
        return true;
      }
      return percent >= 0 && Hashing.bucket(user.getBytes(StandardCharsets.UTF_8), 100) < percent;
    }
  }

  /** Whether the request matches; the functions return a header's or a cookie's value, or null. */
  public boolean matches(Function<String, String> headerValue, Function<String, String> cookieValue) {
    for (Map.Entry<String, String> h : headers) {
      if (!valueMatches(headerValue.apply(h.getKey()), h.getValue())) {
        return false;
      }
    }
    for (Map.Entry<String, String> c : cookies) {
      if (!valueMatches(cookieValue.apply(c.getKey()), c.getValue())) {
        return false;
      }
    }
    return user == null || user.matches(headerValue, cookieValue);
  }

  private static boolean valueMatches(String actual, String expected) {
    return actual != null && ("*".equals(expected) || expected.equals(actual));
  }
}

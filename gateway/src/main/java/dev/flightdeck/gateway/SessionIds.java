package dev.flightdeck.gateway;

/** What the gateway accepts as a session id (or request id) in a header: both gateways use it. */
public final class SessionIds {

  /** The longest session id accepted. */
  public static final int MAX_LENGTH = 256;

  private SessionIds() {}

  /** Whether every character is printable ASCII without spaces. */
  public static boolean printable(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        return false;
      }
    }
    return true;
  }

  /** Whether {@code s} is a valid session id: 1 to {@value #MAX_LENGTH} printable ASCII characters. */
  public static boolean valid(String s) {
    return !s.isEmpty() && s.length() <= MAX_LENGTH && printable(s);
  }
}

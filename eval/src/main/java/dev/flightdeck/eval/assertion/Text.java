package dev.flightdeck.eval.assertion;

/** Short renderings of values for messages: a report line must stay readable whatever the agent said. */
public final class Text {

  private Text() {}

  /** {@code s} quoted, cut to {@code max} characters with an ellipsis. */
  public static String brief(String s, int max) {
    String one = s.replace("\n", "\\n").replace("\r", "\\r");
    return "\"" + (one.length() <= max ? one : one.substring(0, max) + "…") + "\"";
  }

  /** {@link #brief(String, int)} at 80 characters. */
  public static String brief(String s) {
    return brief(s, 80);
  }
}

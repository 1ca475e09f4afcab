package dev.flightdeck.eval.pii;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Credentials by their published shapes: OpenAI and Anthropic keys, AWS access key ids, GitHub,
 * Slack, Google and Stripe tokens, JWTs, and PEM private keys (the whole block when its body
 * follows, else the header). Every quantifier is bounded and possessive, and a token must not be
 * glued to more token characters on either side, so a match is tried only where a token starts.
 */
final class ApiKeyFinder implements Finder {

  private static final String T = "[A-Za-z0-9_-]";

  private static final Pattern TOKEN = Pattern.compile(
      "(?<![A-Za-z0-9_-])(?:"
          + "(?<sk>sk-(?:ant-(?:api|admin)\\d{2}-|proj-|svcacct-|admin-)?" + T + "{32,250}+)"
          + "|(?:sk|rk)_live_[A-Za-z0-9]{20,247}+"
          + "|(?:AKIA|ASIA)[A-Z0-9]{16}+"
          + "|gh[pousr]_[A-Za-z0-9]{36,251}+"
          + "|github_pat_[A-Za-z0-9_]{22,244}+"
          + "|(?<slack>xox[abpors]-[A-Za-z0-9-]{10,250}+)"
          + "|AIza" + T + "{35}+"
          + "|eyJ" + T + "{4,4096}+\\." + T + "{2,16384}+\\." + T + "{0,4096}+"
          + ")(?!" + T + ")");

  private static final Pattern PEM_HEADER =
      Pattern.compile("-----BEGIN ((?:[A-Z0-9]{1,16} ){0,2}PRIVATE KEY(?: BLOCK)?)-----");

  /** Line breaks inside a PEM block: real ones, or escaped inside a JSON or YAML string. */
  private static final List<String> BREAKS = List.of("\r\n", "\n", "\\r\\n", "\\n");

  /** The longest header field line taken as part of a block. */
  private static final int MAX_FIELD = 128;

  @Override
  public void find(String text, List<PiiMatch> out) {
    Matcher m = TOKEN.matcher(text);
    while (m.find()) {
      // Prose like "sk-learn-compatible-estimators-..." has the shape of a key; random key bodies
      // have digits (for a 32-char base64url body, all but 0.4% of them).
      boolean needsDigit = m.group("sk") != null || m.group("slack") != null;
      if (!needsDigit || hasDigit(m.group())) {
        out.add(new PiiMatch(PiiKind.API_KEY, m.start(), m.end()));
      }
    }
    Matcher pem = PEM_HEADER.matcher(text);
    while (pem.find()) {
      int end = pemEnd(text, pem.end(), "-----END " + pem.group(1) + "-----");
      out.add(new PiiMatch(PiiKind.API_KEY, pem.start(), end));
    }
  }

  /**
   * Where a PEM block whose header ends at {@code pos} ends: over the header fields (encryption,
   * PGP armour) and the base64 lines that follow, and the footer if it is there; a truncated block
   * ends after its last base64 char. A block whose line breaks were flattened to spaces is taken
   * whole only when its footer follows, so a header quoted in prose does not swallow the prose.
   */
  private static int pemEnd(String text, int pos, String footer) {
    Scan lines = scan(text, pos, footer, false);
    if (lines.closed()) {
      return lines.end();
    }
    Scan spaced = scan(text, pos, footer, true);
    return spaced.closed() ? spaced.end() : lines.end();
  }

  private record Scan(int end, boolean closed) {}

  private static Scan scan(String text, int pos, String footer, boolean spaces) {
    int end = pos;
    boolean afterField = true; // a PGP armour header is followed by a blank line
    while (true) {
      int line = skipBreak(text, pos, spaces);
      if (line == pos) {
        return new Scan(end, false);
      }
      if (text.startsWith(footer, line)) {
        return new Scan(line + footer.length(), true);
      }
      if (isFieldStart(text, line)) {
        int fieldEnd = fieldEnd(text, line);
        if (fieldEnd < 0) {
          return new Scan(end, false);
        }
        pos = fieldEnd;
        end = pos;
        afterField = true;
        continue;
      }
      int stop = line;
      while (stop < text.length() && isBase64(text.charAt(stop))) {
        stop++;
      }
      if (stop == line && !(afterField && skipBreak(text, line, false) != line)) {
        return new Scan(end, false);
      }
      afterField = false;
      end = stop;
      pos = stop;
    }
  }

  /** The position after the line break at {@code pos} (after any spaces too, if asked), else pos. */
  private static int skipBreak(String text, int pos, boolean spaces) {
    if (spaces) {
      int p = pos;
      while (p < text.length() && (text.charAt(p) == ' ' || text.charAt(p) == '\t')) {
        p++;
      }
      if (p > pos) {
        return p;
      }
    }
    for (String br : BREAKS) {
      if (text.startsWith(br, pos)) {
        return pos + br.length();
      }
    }
    return pos;
  }

  /**
   * The end of the header field starting at {@code pos}, or -1 if it is not one: short,
   * ended by a line break, without the {@code --} of a PEM boundary (so one block's scan never runs
   * into the next block, which keeps the whole search linear).
   */
  private static int fieldEnd(String text, int pos) {
    int limit = Math.min(text.length(), pos + MAX_FIELD);
    for (int p = pos; p < limit; p++) {
      if (skipBreak(text, p, false) != p) {
        return p;
      }
      if (text.charAt(p) == '-' && p + 1 < text.length() && text.charAt(p + 1) == '-') {
        return -1;
      }
    }
    return limit == text.length() ? limit : -1;
  }

  /** A header field such as {@code Proc-Type: 4,ENCRYPTED} or PGP's {@code Version: GnuPG v2}. */
  private static boolean isFieldStart(String text, int pos) {
    int p = pos;
    int limit = Math.min(text.length(), pos + 32);
    while (p < limit && (isAsciiLetter(text.charAt(p)) || (p > pos && text.charAt(p) == '-'))) {
      p++;
    }
    return p > pos && p + 1 < text.length() && text.charAt(p) == ':' && text.charAt(p + 1) == ' ';
  }

  private static boolean isAsciiLetter(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  }

  private static boolean isBase64(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
        || c == '+' || c == '/' || c == '=';
  }

  private static boolean hasDigit(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) >= '0' && s.charAt(i) <= '9') {
        return true;
      }
    }
    return false;
  }
}

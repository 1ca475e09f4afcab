package dev.flightdeck.eval.pii;

import java.util.List;

/**
 * Email addresses, a practical subset of RFC 5322 with internationalized (RFC 6531) letters: a
 * dot-atom local part of letters, digits and {@code . _ % + - '} up to 64 chars, and a domain of
 * at least two labels whose top level is letters (or punycode). Scanned by hand from each {@code @}
 * rather than by a regex tried at every position: neither scan can cross another {@code @}, so each
 * char is visited a few times at most, whatever the input.
 *
 * <p>Not reported: {@code a@b@c.com} (two {@code @}), {@code lodash@4.17.21} (numeric top level),
 * {@code git@github.com:org/repo} (scp syntax: a host, not a mailbox).
 */
final class EmailFinder implements Finder {

  private static final int MAX_LOCAL = 64;
  private static final int MAX_DOMAIN = 253;
  private static final int MAX_LABEL = 63;

  @Override
  public void find(String text, List<PiiMatch> out) {
    for (int at = text.indexOf('@'); at >= 0; at = text.indexOf('@', at + 1)) {
      int start = localStart(text, at);
      if (start < 0) {
        continue;
      }
      int end = domainEnd(text, at + 1);
      if (end > 0) {
        out.add(new PiiMatch(PiiKind.EMAIL, start, end));
      }
    }
  }

  /** Where the local part before the {@code @} at {@code at} starts, or -1 if there is none. */
  private static int localStart(String text, int at) {
    int run = at;
    while (run > 0) {
      int cp = Character.codePointBefore(text, run);
      if (!isLocalChar(cp)) {
        break;
      }
      run -= Character.charCount(cp);
    }
    if (run > 0 && text.charAt(run - 1) == '@') {
      return -1;
    }
    // "see...john@x.com", "call me--john@x.com": the address starts after the ellipsis or dash.
    int start = run;
    for (int i = at - 1; i > run; i--) {
      char c = text.charAt(i);
      if ((c == '.' || c == '-') && text.charAt(i - 1) == c) {
        start = i + 1;
        break;
      }
    }
    while (start < at && ".-'".indexOf(text.charAt(start)) >= 0) {
      start++;
    }
    int length = at - start;
    if (length == 0 || length > MAX_LOCAL || text.charAt(at - 1) == '.') {
      return -1;
    }
    return start;
  }

  /** Where the domain starting at {@code from} ends, or -1 if it is not a valid domain. */
  private static int domainEnd(String text, int from) {
    int n = text.length();
    int end = from;
    while (end < n) {
      int cp = text.codePointAt(end);
      if (!(cp == '.' || cp == '-' || (Finder.isWordCodePoint(cp) && cp != '_'))) {
        break;
      }
      end += Character.charCount(cp);
    }
    // A sentence may end right after the address, or a dash may follow it.
    while (end > from && (text.charAt(end - 1) == '.' || text.charAt(end - 1) == '-')) {
      end--;
    }
    if (end - from > MAX_DOMAIN || !validDomain(text, from, end)) {
      return -1;
    }
    if (end < n) {
      char next = text.charAt(end);
      boolean scp = next == ':' && end + 1 < n && !Character.isWhitespace(text.charAt(end + 1));
      if (next == '@' || next == '_' || scp) {
        return -1;
      }
    }
    return end;
  }

  private static boolean validDomain(String text, int from, int end) {
    int labels = 0;
    int labelStart = from;
    for (int i = from; i <= end; i++) {
      if (i == end || text.charAt(i) == '.') {
        int len = i - labelStart;
        if (len == 0 || len > MAX_LABEL || text.charAt(labelStart) == '-' || text.charAt(i - 1) == '-') {
          return false;
        }
        labels++;
        if (i == end && (labels < 2 || !validTopLevel(text, labelStart, end))) {
          return false;
        }
        labelStart = i + 1;
      }
    }
    return labels >= 2;
  }

  private static boolean validTopLevel(String text, int from, int end) {
    if (text.regionMatches(true, from, "xn--", 0, 4)) {
      return end - from > 4;
    }
    int letters = 0;
    for (int i = from; i < end; ) {
      int cp = text.codePointAt(i);
      if (Character.isLetter(cp)) {
        letters++;
      } else if (Character.getType(cp) != Character.NON_SPACING_MARK
          && Character.getType(cp) != Character.COMBINING_SPACING_MARK) {
        return false;
      }
      i += Character.charCount(cp);
    }
    return letters >= 2;
  }

  private static boolean isLocalChar(int cp) {
    return Finder.isWordCodePoint(cp) || cp == '.' || cp == '%' || cp == '+' || cp == '-' || cp == '\'';
  }
}

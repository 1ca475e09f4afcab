package dev.flightdeck.eval.pii;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Payment card numbers: 13 to 19 digits, either unbroken or in groups as cards print them (a first
 * group of four, then groups of four to six, optionally a short last group) with one kind of
 * separator, a single space or a dash. The number must pass the Luhn check and start the way
 * payment networks' numbers start (ISO 7812 major industry 2 to 6, or RuPay's 81/82): that drops
 * millisecond timestamps and snowflake ids (which start with 1) and most order and tracking ids,
 * at the price of missing airline UATP cards. A run of one repeated digit is not a card.
 */
final class CardFinder implements Finder {

  private static final String W = Finder.WORD;

  private static final Pattern CANDIDATE = Pattern.compile(
      "(?<!" + W + ")(?<!\\d[.,-])"
          + "(?:(\\d{13,19})(?!" + W + "|[.,]\\d)"
          + "|(?<!\\d[ ])\\d{4}([ -])\\d{4,6}(?:\\2\\d{4,6}){0,3}(?:\\2\\d{1,4})?"
          + "(?!" + W + "|\\2\\d|[.,-]\\d))");

  @Override
  public void find(String text, List<PiiMatch> out) {
    Matcher m = CANDIDATE.matcher(text);
    while (m.find()) {
      if (isCardNumber(digits(m.group()))) {
        out.add(new PiiMatch(PiiKind.CARD, m.start(), m.end()));
      }
    }
  }

  /** True for a 13–19 digit string with a payment network's leading digits and a valid Luhn digit. */
  static boolean isCardNumber(String digits) {
    int n = digits.length();
    if (n < 13 || n > 19) {
      return false;
    }
    char first = digits.charAt(0);
    boolean network = (first >= '2' && first <= '6')
        || digits.startsWith("81") || digits.startsWith("82");
    return network && !allSame(digits) && luhn(digits);
  }

  /** The Luhn (mod 10) check over a string of ASCII digits. */
  static boolean luhn(String digits) {
    int sum = 0;
    boolean twice = false;
    for (int i = digits.length() - 1; i >= 0; i--) {
      int d = digits.charAt(i) - '0';
      if (twice) {
        d *= 2;
        if (d > 9) {
          d -= 9;
        }
      }
      sum += d;
      twice = !twice;
    }
    return sum % 10 == 0;
  }

  private static boolean allSame(String digits) {
    for (int i = 1; i < digits.length(); i++) {
      if (digits.charAt(i) != digits.charAt(0)) {
        return false;
      }
    }
    return true;
  }

  private static String digits(String candidate) {
    StringBuilder sb = new StringBuilder(candidate.length());
    for (int i = 0; i < candidate.length(); i++) {
      char c = candidate.charAt(i);
      if (c >= '0' && c <= '9') {
        sb.append(c);
      }
    }
    return sb.toString();
  }
}

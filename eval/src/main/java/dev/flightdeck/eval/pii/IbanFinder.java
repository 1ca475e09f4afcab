package dev.flightdeck.eval.pii;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * International bank account numbers (ISO 13616): a country code, two check digits and the BBAN,
 * either unbroken or printed in groups of four separated by single spaces. The length must be the
 * one the IBAN registry gives that country and the whole must pass the mod-97 check; the check
 * digits 00, 01 and 99 never occur. Letters may be in either case.
 */
final class IbanFinder implements Finder {

  /** Length of the IBAN per country, from the SWIFT IBAN registry. */
  static final Map<String, Integer> LENGTHS = Map.ofEntries(
      Map.entry("AD", 24), Map.entry("AE", 23), Map.entry("AL", 28), Map.entry("AT", 20),
      Map.entry("AZ", 28), Map.entry("BA", 20), Map.entry("BE", 16), Map.entry("BG", 22),
      Map.entry("BH", 22), Map.entry("BI", 27), Map.entry("BR", 29), Map.entry("BY", 28),
      Map.entry("CH", 21), Map.entry("CR", 22), Map.entry("CY", 28), Map.entry("CZ", 24),
      Map.entry("DE", 22), Map.entry("DJ", 27), Map.entry("DK", 18), Map.entry("DO", 28),
      Map.entry("EE", 20), Map.entry("EG", 29), Map.entry("ES", 24), Map.entry("FI", 18),
      Map.entry("FK", 18), Map.entry("FO", 18), Map.entry("FR", 27), Map.entry("GB", 22),
      Map.entry("GE", 22), Map.entry("GI", 23), Map.entry("GL", 18), Map.entry("GR", 27),
      Map.entry("GT", 28), Map.entry("HN", 28), Map.entry("HR", 21), Map.entry("HU", 28),
      Map.entry("IE", 22), Map.entry("IL", 23), Map.entry("IQ", 23), Map.entry("IS", 26),
      Map.entry("IT", 27), Map.entry("JO", 30), Map.entry("KW", 30), Map.entry("KZ", 20),
      Map.entry("LB", 28), Map.entry("LC", 32), Map.entry("LI", 21), Map.entry("LT", 20),
      Map.entry("LU", 20), Map.entry("LV", 21), Map.entry("LY", 25), Map.entry("MC", 27),
      Map.entry("MD", 24), Map.entry("ME", 22), Map.entry("MK", 19), Map.entry("MN", 20),
      Map.entry("MR", 27), Map.entry("MT", 31), Map.entry("MU", 30), Map.entry("NI", 28),
      Map.entry("NL", 18), Map.entry("NO", 15), Map.entry("OM", 23), Map.entry("PK", 24),
      Map.entry("PL", 28), Map.entry("PS", 29), Map.entry("PT", 25), Map.entry("QA", 29),
      Map.entry("RO", 24), Map.entry("RS", 22), Map.entry("RU", 33), Map.entry("SA", 24),
      Map.entry("SC", 31), Map.entry("SD", 18), Map.entry("SE", 24), Map.entry("SI", 19),
      Map.entry("SK", 24), Map.entry("SM", 27), Map.entry("SO", 23), Map.entry("ST", 25),
      Map.entry("SV", 28), Map.entry("TL", 23), Map.entry("TN", 24), Map.entry("TR", 26),
      Map.entry("UA", 29), Map.entry("VA", 22), Map.entry("VG", 24), Map.entry("XK", 20),
      Map.entry("YE", 30));

  private static final Pattern START = Pattern.compile("(?<!" + Finder.WORD + ")[A-Za-z]{2}\\d{2}");

  @Override
  public void find(String text, List<PiiMatch> out) {
    Matcher m = START.matcher(text);
    int from = 0;
    while (from < text.length() && m.find(from)) {
      int start = m.start();
      int end = ibanEnd(text, start);
      if (end > 0) {
        out.add(new PiiMatch(PiiKind.IBAN, start, end));
        from = end;
      } else {
        from = m.end();
      }
    }
  }

  /** Where the IBAN starting at {@code start} ends, or -1 if there is none there. */
  private static int ibanEnd(String text, int start) {
    String country = text.substring(start, start + 2).toUpperCase(Locale.ROOT);
    Integer length = LENGTHS.get(country);
    String check = text.substring(start + 2, start + 4);
    if (length == null || check.equals("00") || check.equals("01") || check.equals("99")) {
      return -1;
    }
    int n = text.length();
    int pos = start + 4;
    boolean grouped = pos < n && text.charAt(pos) == ' ';
    StringBuilder iban = new StringBuilder(length).append(text, start, start + 4);
    for (int count = 4; count < length; count++) {
      if (grouped && count % 4 == 0) {
        if (pos >= n || text.charAt(pos) != ' ') {
          return -1;
        }
        pos++;
      }
      if (pos >= n || !isAsciiAlnum(text.charAt(pos))) {
        return -1;
      }
      iban.append(text.charAt(pos++));
    }
    if (pos < n && Finder.isWordCodePoint(text.codePointAt(pos))) {
      return -1;
    }
    return mod97(iban) == 1 ? pos : -1;
  }

  /** The IBAN's remainder mod 97 after moving its first four chars to the end (1 when valid). */
  static int mod97(CharSequence iban) {
    int rem = 0;
    int n = iban.length();
    for (int i = 0; i < n; i++) {
      char c = Character.toUpperCase(iban.charAt((i + 4) % n));
      int v = c <= '9' ? c - '0' : c - 'A' + 10;
      rem = v < 10 ? (rem * 10 + v) % 97 : (rem * 100 + v) % 97;
    }
    return rem;
  }

  private static boolean isAsciiAlnum(char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  }
}

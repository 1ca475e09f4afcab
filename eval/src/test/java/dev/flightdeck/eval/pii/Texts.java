package dev.flightdeck.eval.pii;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/** Helpers shared by the PII tests: what a detector finds, as the substrings it covers. */
final class Texts {

  static final Set<PiiKind> ALL = EnumSet.allOf(PiiKind.class);

  private Texts() {}

  /** The substrings of {@code text} that the standard detector reports as {@code kind}. */
  static List<String> found(String text, PiiKind kind) {
    return found(PiiDetector.standard(), text, kind);
  }

  /** The substrings of {@code text} that {@code detector} reports as {@code kind}. */
  static List<String> found(PiiDetector detector, String text, PiiKind kind) {
    return detector.find(text, EnumSet.of(kind)).stream()
        .map(m -> text.substring(m.start(), m.end()))
        .toList();
  }

  /** The digits followed by the one digit that makes them pass the Luhn check. */
  static String withLuhnDigit(String digits) {
    for (char d = '0'; d <= '9'; d++) {
      if (CardFinder.luhn(digits + d)) {
        return digits + d;
      }
    }
    throw new AssertionError("no Luhn digit for " + digits);
  }

  /** The IBAN of {@code country} and {@code bban} with its correct check digits. */
  static String iban(String country, String bban) {
    int rem = IbanFinder.mod97(country + "00" + bban);
    int check = 98 - rem;
    return country + (check < 10 ? "0" : "") + check + bban;
  }

  /** The IBAN printed in groups of four. */
  static String grouped(String iban) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < iban.length(); i += 4) {
      if (i > 0) {
        sb.append(' ');
      }
      sb.append(iban, i, Math.min(iban.length(), i + 4));
    }
    return sb.toString();
  }
}

package dev.flightdeck.eval.pii;

import com.google.i18n.phonenumbers.PhoneNumberMatch;
import com.google.i18n.phonenumbers.PhoneNumberUtil;
import com.google.i18n.phonenumbers.PhoneNumberUtil.Leniency;
import com.google.i18n.phonenumbers.Phonenumber;
import java.util.List;

/**
 * Phone numbers, found by libphonenumber at {@link Leniency#VALID}: the number must be a valid
 * number of its numbering plan, not merely look like one. Numbers without a country code are read
 * in the default region; numbers written with {@code +} and a country code are found anywhere.
 *
 * <p>libphonenumber is correct but slow on digit soup: {@code findNumbers} over 1 MiB of
 * {@code "1 1 1 …"} takes about 10 s, because every run of digits and separators is split into
 * inner candidates and each is parsed (about 10 µs a parse). So the text is first cut, in one
 * linear pass, into runs of the characters a phone number can contain (digits, {@code +},
 * brackets and libphonenumber's separators); only runs with enough digits to be a number in the
 * region (or seven with a {@code +}) go to {@code findNumbers}, each with a little surrounding text
 * so its checks on neighbouring letters, dates and times still see them. The run chars it reads
 * without finding a number in them share a budget of {@value #BUDGET_CHARS} per text: ordinary
 * answers never come near it, and a run that does not fit in what is left is skipped (with a
 * warning) instead of taking seconds.
 *
 * <p>An unbroken run of digits is not reported: in agent answers those are order ids, amounts and
 * timestamps far more often than phone numbers (over a third of random ten-digit ids are valid US
 * numbers), while a phone number written for a person carries a {@code +}, a separator or brackets.
 */
final class PhoneFinder implements Finder {

  private static final System.Logger LOG = System.getLogger(PhoneFinder.class.getName());

  private static final PhoneNumberUtil UTIL = PhoneNumberUtil.getInstance();

  /**
   * Chars of number-like runs per text that libphonenumber may read without finding a phone number
   * in them: under half a second of its slowest input. Chars of the numbers it finds are not
   * charged, so a long list of real numbers is searched to the end.
   */
  static final int BUDGET_CHARS = 48 * 1024;

  /** Chars of context on each side of a run, enough for "ext. 12345" or a time after a date. */
  private static final int CONTEXT = 24;

  /** libphonenumber's VALID_PUNCTUATION, plus signs and brackets: what a candidate is made of. */
  private static final String RUN_CHARS = "-x\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30FC"
      + "\uFF0D\uFF0E\uFF0F \u00A0\u00AD\u200B\u2060\u3000()\uFF08\uFF09\uFF3B\uFF3D.[]/~\u2053"
      + "\u223C\uFF5E+\uFF0B";

  private final String region;
  private final int minDigits;

  PhoneFinder(String region) {
    this.region = region;
    this.minDigits = shortestNumber(region);
  }

  /** The fewest digits a full (not local-only) number of the region can have. */
  private static int shortestNumber(String region) {
    int countryCode = UTIL.getCountryCodeForRegion(region);
    for (int length = 1; length < 17; length++) {
      Phonenumber.PhoneNumber probe = new Phonenumber.PhoneNumber()
          .setCountryCode(countryCode).setNationalNumber(Long.parseLong("2".repeat(length)));
      if (UTIL.isPossibleNumberWithReason(probe) == PhoneNumberUtil.ValidationResult.IS_POSSIBLE) {
        return length;
      }
    }
    return 1;
  }

  /** True if libphonenumber knows {@code region} (an ISO 3166-1 alpha-2 code, upper case). */
  static boolean isSupportedRegion(String region) {
    return UTIL.getSupportedRegions().contains(region);
  }

  @Override
  public void find(String text, List<PiiMatch> out) {
    int n = text.length();
    int budget = BUDGET_CHARS;
    int skipped = 0;
    int prevRunEnd = 0;
    int i = 0;
    while (i < n) {
      if (!isRunChar(text.charAt(i))) {
        i++;
        continue;
      }
      int start = i;
      int digits = 0;
      boolean plus = false;
      while (i < n && isRunChar(text.charAt(i))) {
        char c = text.charAt(i);
        digits += Character.isDigit(c) ? 1 : 0;
        plus |= c == '+' || c == '\uFF0B';
        i++;
      }
      if (digits >= (plus ? Math.min(7, minDigits) : minDigits)) {
        int from = Math.max(prevRunEnd, start - CONTEXT);
        int to = Math.min(n, i + CONTEXT);
        if (i - start > budget) {
          skipped++;
        } else {
          budget -= Math.max(0, (i - start) - search(text.substring(from, to), from, start, i, out));
        }
      }
      prevRunEnd = i;
    }
    if (skipped > 0) {
      LOG.log(System.Logger.Level.WARNING, "phone search skipped {0} run(s) of number-like text in a"
          + " text of {1} chars: over the budget of {2} chars without a phone number", skipped, n, BUDGET_CHARS);
    }
  }

  /** Adds the phone numbers starting in the run; returns how many of the run's chars they cover. */
  private int search(String window, int offset, int runStart, int runEnd, List<PiiMatch> out) {
    int covered = 0;
    for (PhoneNumberMatch m : UTIL.findNumbers(window, region, Leniency.VALID, Long.MAX_VALUE)) {
      int start = offset + m.start();
      if (start >= runStart && start < runEnd && isFormatted(m.rawString())) {
        out.add(new PiiMatch(PiiKind.PHONE, start, offset + m.end()));
        covered += Math.min(offset + m.end(), runEnd) - start;
      }
    }
    return covered;
  }

  private static boolean isRunChar(char c) {
    return Character.isDigit(c) || RUN_CHARS.indexOf(c) >= 0;
  }

  /** False for an unbroken run of digits (see the class comment). */
  static boolean isFormatted(String raw) {
    for (int i = 0; i < raw.length(); i++) {
      if (!Character.isDigit(raw.charAt(i))) {
        return true;
      }
    }
    return false;
  }
}

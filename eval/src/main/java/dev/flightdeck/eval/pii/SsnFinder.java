package dev.flightdeck.eval.pii;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * US Social Security numbers written AAA-GG-SSSS, with dashes or with spaces (the same separator
 * twice). Numbers the SSA never issues are skipped: area 000, 666 and 900–999 (ITINs), group 00,
 * serial 0000. Bare nine-digit numbers are not reported: they are far more often order ids,
 * amounts or phone fragments than SSNs, and a suite gate cannot afford that noise.
 */
final class SsnFinder implements Finder {

  private static final String W = Finder.WORD;

  private static final Pattern CANDIDATE = Pattern.compile(
      "(?<!" + W + ")(?<!\\d[-. ])(\\d{3})([- ])(\\d{2})\\2(\\d{4})(?!" + W + "|[-.]\\d|\\2\\d)");

  @Override
  public void find(String text, List<PiiMatch> out) {
    Matcher m = CANDIDATE.matcher(text);
    while (m.find()) {
      int area = Integer.parseInt(m.group(1));
      int group = Integer.parseInt(m.group(3));
      int serial = Integer.parseInt(m.group(4));
      if (area != 0 && area != 666 && area < 900 && group != 0 && serial != 0) {
        out.add(new PiiMatch(PiiKind.SSN, m.start(), m.end()));
      }
    }
  }
}

package dev.flightdeck.eval.pii;

import static dev.flightdeck.eval.pii.Texts.found;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.i18n.phonenumbers.PhoneNumberUtil;
import dev.flightdeck.api.FlightdeckException;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Phone numbers through libphonenumber: formats, regions, and numbers that are something else. */
class PhoneFinderTest {

  @ParameterizedTest
  @ValueSource(strings = {
      "(415) 555-2671", "415-555-2671", "415.555.2671", "415 555 2671", "+1 415 555 2671",
      "+1-415-555-2671", "+14155552671", "1-800-555-0199", "+44 20 7946 0958",
      "+44 (0)20 7946 0958", "+49 30 901820", "+33 1 23 45 67 89", "+81 3-1234-5678",
      "+91 98765 43210", "+61 2 9876 5432"})
  void findsNumbers_inNationalAndInternationalFormats(String phone) {
    assertThat(found("Call me on " + phone + " tomorrow", PiiKind.PHONE)).containsExactly(phone);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "version 1.2.3.4", "v10.15.7", "on 2024-01-15", "on 12/25/2024", "at 2024-01-15 10:30:00",
      "host 192.168.100.200", "order 2025550143", "ts 1732363492", "call 555-1234",
      "123-456-7890", "ISBN 978-3-16-148410-0", "SSN 536-22-1234", "abc415-555-2671def"})
  void ignoresNumbers_thatAreNotPhoneNumbers(String text) {
    assertThat(found(text, PiiKind.PHONE)).isEmpty();
  }

  @Test
  void readsNationalNumbers_inTheConfiguredRegion() {
    String text = "Büro: 030 901820";
    assertThat(found(text, PiiKind.PHONE)).isEmpty();
    assertThat(found(PiiDetector.withPhoneRegion("DE"), text, PiiKind.PHONE)).containsExactly("030 901820");
    assertThat(found(PiiDetector.withPhoneRegion("de"), text, PiiKind.PHONE)).containsExactly("030 901820");
  }

  @Test
  void rejectsUnknownRegions_sayingWhatToUse() {
    assertThatThrownBy(() -> PiiDetector.withPhoneRegion("XX"))
        .isInstanceOf(FlightdeckException.class)
        .hasMessageContaining("\"XX\"")
        .hasMessageContaining("ISO 3166-1");
  }

  @Test
  void searchesLongListsOfRealNumbers_toTheEnd() {
    String list = IntStream.range(0, 5000)
        .mapToObj(i -> String.format("Contact %d: (415) 555-%04d", i, i))
        .collect(Collectors.joining("\n"));
    assertThat(found(list, PiiKind.PHONE)).hasSize(5000);
  }

  @Test
  void skipsDigitSoup_overTheBudget_butStillSearchesLaterRuns() {
    String soup = "1 ".repeat(PhoneFinder.BUDGET_CHARS);
    assertThat(found(soup + "\ncall (415) 555-2671", PiiKind.PHONE)).containsExactly("(415) 555-2671");
  }

  @Test
  void unbrokenDigitRuns_areOftenValidUsNumbers_soTheyAreNotReported() throws Exception {
    PhoneNumberUtil util = PhoneNumberUtil.getInstance();
    Random random = new Random(7);
    int valid = 0;
    for (int i = 0; i < 2000; i++) {
      String id = Long.toString(1_000_000_000L + (long) (random.nextDouble() * 9_000_000_000L));
      valid += util.isValidNumber(util.parse(id, "US")) ? 1 : 0;
    }
    assertThat(valid).isGreaterThan(2000 / 3);
    assertThat(PhoneFinder.isFormatted("4155552671")).isFalse();
    assertThat(PhoneFinder.isFormatted("+14155552671")).isTrue();
  }
}

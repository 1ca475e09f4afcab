package dev.flightdeck.eval.pii;

import static dev.flightdeck.eval.pii.Texts.found;
import static dev.flightdeck.eval.pii.Texts.grouped;
import static dev.flightdeck.eval.pii.Texts.iban;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** IBANs: registry examples in print and electronic form, and near misses. */
class IbanFinderTest {

  @ParameterizedTest
  @ValueSource(strings = {
      "DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606",
      "NL91ABNA0417164300", "BE68539007547034", "CH9300762011623852957", "NO9386011117947",
      "IT60X0542811101000000123456", "ES9121000418450200051332", "AT611904300234573201",
      "MT84MALT011000012345MTLCAST001S", "LC55HEMM000100010012001200023015",
      "SA0380000000608010167519", "BR1800360305000010009795493C1", "AE070331234567890123456"})
  void findsIbans_compactAndInGroupsOfFour(String iban) {
    assertThat(found("Pay to " + iban + ".", PiiKind.IBAN)).containsExactly(iban);
    assertThat(found("Pay to " + grouped(iban) + ".", PiiKind.IBAN)).containsExactly(grouped(iban));
  }

  @Test
  void findsIbans_inLowerCase() {
    assertThat(found("iban: fr14 2004 1010 0505 0001 3m02 606", PiiKind.IBAN))
        .containsExactly("fr14 2004 1010 0505 0001 3m02 606");
  }

  @Test
  void endsTheIban_atItsCountrysLength() {
    assertThat(found("BE68 5390 0754 7034 2024 was the year", PiiKind.IBAN))
        .containsExactly("BE68 5390 0754 7034");
  }

  @Test
  void ignoresIbans_withWrongCheckDigits() {
    assertThat(found("DE88 3704 0044 0532 0130 00", PiiKind.IBAN)).isEmpty();
    assertThat(found("GB28NWBK60161331926819", PiiKind.IBAN)).isEmpty();
  }

  @Test
  void ignoresIbans_withOneCharChanged() {
    assertThat(found("DE89 3704 0044 0532 0131 00", PiiKind.IBAN)).isEmpty();
  }

  @Test
  void ignoresCheckDigits01_evenThoughMod97AcceptsThemWhere98Works() {
    String valid = null;
    for (int i = 0; valid == null; i++) {
      String candidate = iban("DE", String.format("%018d", i));
      if (candidate.startsWith("DE98")) {
        valid = candidate;
      }
    }
    String twin = "DE01" + valid.substring(4);
    assertThat(IbanFinder.mod97(twin)).isEqualTo(1);
    assertThat(found(valid, PiiKind.IBAN)).containsExactly(valid);
    assertThat(found(twin, PiiKind.IBAN)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "DE89 3704 0044 0532 0130 0", // one char short for Germany
      "DE89370400440532013000X", // glued to more text
      "XX89370400440532013000", // not a registry country
      "US12345678901234567890", // no IBANs in the US
      "DE89 37040044 0532013000", // broken grouping
      "DE89-3704-0044-0532-0130-00",
      "ref DE893704004405320130001"})
  void ignoresStrings_thatAreNotIbans(String text) {
    assertThat(found(text, PiiKind.IBAN)).isEmpty();
  }

  @Test
  void lengthTable_coversTheSepaCountries() {
    assertThat(IbanFinder.LENGTHS).containsKeys(
        "AD", "AT", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GI",
        "GR", "HR", "HU", "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MC", "MT", "NL", "NO", "PL",
        "PT", "RO", "SE", "SI", "SK", "SM", "VA");
    assertThat(IbanFinder.LENGTHS.values()).allSatisfy(n -> assertThat(n).isBetween(15, 34));
  }
}

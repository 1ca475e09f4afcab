package dev.flightdeck.eval.pii;

import static dev.flightdeck.eval.pii.Texts.found;
import static dev.flightdeck.eval.pii.Texts.withLuhnDigit;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Card numbers: the printed formats, Luhn, and the numbers that only look like cards. */
class CardFinderTest {

  @ParameterizedTest
  @ValueSource(strings = {
      "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", // Visa
      "5555 5555 5555 4444", "2221 0000 0000 0009", // Mastercard, 2-series
      "3782 822463 10005", "378282246310005", // Amex 4-6-5
      "6011 1111 1111 1117", "3056 930902 5904", "4222222222222", // Discover, Diners 14, Visa 13
      "3530 1113 3330 0000", "6200 0000 0000 0005", "8171 9999 2766 0000"}) // JCB, UnionPay, RuPay
  void findsCards_inTheFormatsTheyArePrintedIn(String card) {
    assertThat(found("Please charge " + card + ", thanks.", PiiKind.CARD)).containsExactly(card);
  }

  @Test
  void findsNineteenDigitCards_groupedFourFourFourFourThree() {
    String digits = withLuhnDigit("621234567890123456");
    String printed = digits.replaceAll("(\\d{4})(?=\\d)", "$1 ");
    assertThat(found("card: " + printed, PiiKind.CARD)).containsExactly(printed);
    assertThat(found("card: " + digits, PiiKind.CARD)).containsExactly(digits);
  }

  @Test
  void findsEachCard_inASpaceSeparatedListOfUnbrokenNumbers() {
    assertThat(found("4111111111111111 5555555555554444", PiiKind.CARD))
        .containsExactly("4111111111111111", "5555555555554444");
  }

  @Test
  void ignoresNumbers_thatFailTheLuhnCheck() {
    assertThat(found("card 4111 1111 1111 1112", PiiKind.CARD)).isEmpty();
    assertThat(found("card 4111111111111113", PiiKind.CARD)).isEmpty();
  }

  @Test
  void ignoresLuhnValidNumbers_outsidePaymentNetworkPrefixes() {
    String timestampLike = withLuhnDigit("173236349200"); // ms timestamps and snowflake ids start with 1
    String leadingZero = withLuhnDigit("012345678901234");
    String fuelCard = withLuhnDigit("700012345678901");
    assertThat(found("order " + timestampLike + " ref " + leadingZero + " fleet " + fuelCard, PiiKind.CARD))
        .isEmpty();
  }

  @Test
  void ignoresARepeatedDigit_evenWhenItPassesLuhn() {
    String repeated = "2".repeat(17);
    assertThat(CardFinder.luhn(repeated)).isTrue();
    assertThat(found("id " + repeated, PiiKind.CARD)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "version 1.2.3.4", "on 2024-01-15 at 10:30", "host 192.168.100.200",
      "order 112-4567890-1234567", // Amazon-style order id: 3-7-7 groups
      "tracking 1Z999AA10123456784", "sku4111111111111111", "4111111111111111x",
      "pi 3.4111111111111111", "4111 1111 1111 1111 1111 1111", "41111 1111 1111 1111",
      "5-4111-1111-1111-1111", "4111-1111 1111-1111"})
  void ignoresNumbers_thatAreNotCardsByShapeOrContext(String text) {
    assertThat(found(text, PiiKind.CARD)).isEmpty();
  }

  @Test
  void luhnAcceptsKnownTestNumbers_andRejectsTheirNeighbours() {
    assertThat(CardFinder.luhn("79927398713")).isTrue();
    assertThat(CardFinder.luhn("79927398710")).isFalse();
  }
}

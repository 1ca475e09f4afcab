package dev.flightdeck.eval.pii;

import static dev.flightdeck.eval.pii.Texts.ALL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static java.util.stream.Collectors.joining;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The detector as callers use it: several kinds at once, overlaps, redaction, odd input. */
class PiiDetectorTest {

  private final PiiDetector detector = PiiDetector.standard();

  private static final String ANSWER = """
      Customer Jane Roe (jane.roe@example.com, +1 415 555 2671) paid with 4111 1111 1111 1111;
      refunds go to DE89 3704 0044 0532 0130 00. SSN on file: 536-22-1234.
      Debug: OPENAI_API_KEY=sk-proj-aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0zAbCdEf""";

  @Test
  void findsEveryKind_sortedByStart() {
    List<PiiMatch> matches = detector.find(ANSWER, ALL);
    assertThat(matches).extracting(PiiMatch::kind).containsExactly(
        PiiKind.EMAIL, PiiKind.PHONE, PiiKind.CARD, PiiKind.IBAN, PiiKind.SSN, PiiKind.API_KEY);
    assertThat(matches).extracting(m -> ANSWER.substring(m.start(), m.end())).containsExactly(
        "jane.roe@example.com", "+1 415 555 2671", "4111 1111 1111 1111",
        "DE89 3704 0044 0532 0130 00", "536-22-1234", "sk-proj-aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0zAbCdEf");
  }

  @Test
  void findsOnlyTheKindsAskedFor() {
    assertThat(detector.find(ANSWER, EnumSet.of(PiiKind.SSN, PiiKind.IBAN)))
        .extracting(PiiMatch::kind).containsExactly(PiiKind.IBAN, PiiKind.SSN);
    assertThat(detector.find(ANSWER, Set.of())).isEmpty();
  }

  @Test
  void redactsEachMatch_withItsKindId() {
    assertThat(detector.redact(ANSWER)).isEqualTo("""
        Customer Jane Roe ([REDACTED:email], [REDACTED:phone]) paid with [REDACTED:card];
        refunds go to [REDACTED:iban]. SSN on file: [REDACTED:ssn].
        Debug: OPENAI_API_KEY=[REDACTED:api-key]""");
  }

  @Test
  void redactingTwice_changesNothingMore() {
    String once = detector.redact(ANSWER);
    assertThat(detector.redact(once)).isEqualTo(once);
  }

  @Test
  void redactsAMatchHiddenByALongerOne_soRedactingAgainChangesNothing() {
    String text = "-----BEGIN PRIVATE KEY-----a@b.com";
    assertThat(detector.redact(text)).isEqualTo("[REDACTED:api-key][REDACTED:email]");
  }

  @Test
  void redactionTokens_areNotPii() {
    String tokens = java.util.Arrays.stream(PiiKind.values()).map(k -> "[REDACTED:" + k.id() + "]").collect(joining(" "));
    assertThat(detector.find(tokens + "\n" + tokens.replace(" ", ""), ALL)).isEmpty();
  }

  @Test
  void returnsTextWithoutPii_unchanged() {
    String text = "The build passed in 4.2 s on 2024-01-15; see v1.2.3.4 and order 112-4567890-1234567.";
    assertThat(detector.find(text, ALL)).isEmpty();
    assertThat(detector.redact(text)).isEqualTo(text);
  }

  @Test
  void longerMatchWins_whenKindsOverlap() {
    String text = "text +1-415-555-2671@sms.example.com now";
    assertThat(detector.find(text, ALL)).singleElement()
        .satisfies(m -> assertThat(m.kind()).isEqualTo(PiiKind.EMAIL))
        .satisfies(m -> assertThat(text.substring(m.start(), m.end())).isEqualTo("+1-415-555-2671@sms.example.com"));
    assertThat(detector.find(text, EnumSet.of(PiiKind.PHONE))).singleElement()
        .satisfies(m -> assertThat(text.substring(m.start(), m.end())).isEqualTo("+1-415-555-2671"));
  }

  @Test
  void longerMatchWins_forAnAwsKeyInsideAPemBody() {
    String pem = "-----BEGIN PRIVATE KEY-----\nMIIE/AKIAIOSFODNN7EXAMPLE/AAAA\n-----END PRIVATE KEY-----";
    assertThat(detector.find(pem, ALL)).containsExactly(new PiiMatch(PiiKind.API_KEY, 0, pem.length()));
  }

  @Test
  void offsetsAreUtf16Indices_pastEmojiRtlAndCombiningMarks() {
    String prefix = "📧 שלום e\u0301 ";
    String text = prefix + "ana@example.org";
    assertThat(detector.find(text, ALL)).containsExactly(
        new PiiMatch(PiiKind.EMAIL, prefix.length(), text.length()));
  }

  @Test
  void survivesLoneSurrogates_andControlCharacters() {
    String text = "\uD800ana@example.org\uDC00 \u0000 4111 1111 1111 1111\uDBFF";
    assertThat(detector.find(text, ALL)).extracting(PiiMatch::kind).containsExactly(PiiKind.EMAIL, PiiKind.CARD);
    assertThat(detector.redact(text)).isEqualTo("\uD800[REDACTED:email]\uDC00 \u0000 [REDACTED:card]\uDBFF");
  }

  @Test
  void givesTheSameAnswers_fromManyThreadsAtOnce() {
    String expected = detector.redact(ANSWER);
    assertThat(IntStream.range(0, 200).parallel().mapToObj(i -> detector.redact(ANSWER)))
        .allSatisfy(r -> assertThat(r).isEqualTo(expected));
  }

  @Test
  void refusesNulls() {
    assertThatThrownBy(() -> detector.find(null, ALL)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> detector.find("x", null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> detector.redact(null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> PiiDetector.withPhoneRegion(null)).isInstanceOf(NullPointerException.class);
  }

  @Test
  void kindIds_roundTripAndUnknownIdsAreEmpty() {
    assertThat(ALL).allSatisfy(k -> assertThat(PiiKind.fromId(k.id())).contains(k));
    assertThat(PiiKind.values()).extracting(PiiKind::id)
        .containsExactly("email", "phone", "card", "iban", "ssn", "api-key");
    assertThat(PiiKind.fromId("API_KEY")).isEmpty();
    assertThat(PiiKind.fromId("")).isEmpty();
  }

  @Test
  void matchesRefuseEmptyOrNegativeSpans() {
    assertThatThrownBy(() -> new PiiMatch(PiiKind.CARD, 3, 3)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new PiiMatch(PiiKind.CARD, -1, 3)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new PiiMatch(null, 0, 3)).isInstanceOf(NullPointerException.class);
  }
}

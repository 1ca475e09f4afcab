package dev.flightdeck.eval.pii;

import static dev.flightdeck.eval.pii.Texts.ALL;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.EnumSet;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/** Properties over generated cards, IBANs, prose and hostile strings. */
class PiiDetectorPropertyTest {

  private final PiiDetector detector = PiiDetector.standard();

  /** A card number with a payment network's first digit and a correct Luhn digit. */
  @Provide
  Arbitrary<String> cards() {
    Arbitrary<String> body = Arbitraries.integers().between(11, 17).flatMap(
        n -> Arbitraries.strings().numeric().ofLength(n));
    return Combinators.combine(Arbitraries.of('2', '3', '4', '5', '6'), body)
        .as((first, rest) -> Texts.withLuhnDigit(first + rest))
        .filter(c -> c.chars().distinct().count() > 1);
  }

  /** A card as printed: unbroken, or in fours with spaces or dashes. */
  @Provide
  Arbitrary<String> printedCards() {
    return Combinators.combine(cards(), Arbitraries.of("", " ", "-"))
        .as((card, sep) -> sep.isEmpty() ? card : card.replaceAll("(\\d{4})(?=\\d)", "$1" + sep));
  }

  /** An IBAN of a registry country with a random BBAN and correct check digits, compact or grouped. */
  @Provide
  Arbitrary<String> ibans() {
    Arbitrary<String> compact = Arbitraries.of(IbanFinder.LENGTHS.keySet().stream().sorted().toList())
        .flatMap(country -> Arbitraries.strings().withCharRange('A', 'Z').numeric()
            .ofLength(IbanFinder.LENGTHS.get(country) - 4)
            .map(bban -> Texts.iban(country, bban)));
    return Combinators.combine(compact, Arbitraries.of(true, false))
        .as((iban, group) -> group ? Texts.grouped(iban) : iban);
  }

  /** Words of letters and sentence punctuation, no digits: prose that cannot be PII itself. */
  @Provide
  Arbitrary<String> prose() {
    Arbitrary<String> word = Arbitraries.strings().withCharRange('a', 'z').withChars("ÄéßЖ中")
        .ofMinLength(1).ofMaxLength(9);
    Arbitrary<String> punct = Arbitraries.of("", ",", ".", ":", "!", "?", ";");
    return Combinators.combine(word, punct).as(String::concat).list().ofMaxSize(12)
        .map(ws -> String.join(" ", ws));
  }

  /** One PII value of any kind, as it would be written in an answer. */
  @Provide
  Arbitrary<String> piiValues() {
    Arbitrary<String> alnum = Arbitraries.strings().alpha().numeric().ofLength(36);
    Arbitrary<String> emails = Combinators.combine(
        Arbitraries.strings().withCharRange('a', 'z').ofMinLength(1).ofMaxLength(12),
        Arbitraries.strings().withCharRange('a', 'z').ofMinLength(1).ofMaxLength(12),
        Arbitraries.of("com", "org", "de", "co.uk"))
        .as((local, domain, tld) -> local + "@" + domain + "." + tld);
    Arbitrary<String> ssns = Combinators.combine(
        Arbitraries.integers().between(1, 899).filter(a -> a != 666),
        Arbitraries.integers().between(1, 99), Arbitraries.integers().between(1, 9999))
        .as((a, g, s) -> String.format("%03d-%02d-%04d", a, g, s));
    Arbitrary<String> phones = Arbitraries.of(
        "(415) 555-2671", "+44 20 7946 0958", "+49 30 901820", "212-555-0188", "+33 1 23 45 67 89");
    Arbitrary<String> keys = Arbitraries.oneOf(
        alnum.map(s -> "ghp_" + s),
        alnum.map(s -> "sk-proj-" + s + "7Q"),
        Arbitraries.strings().withCharRange('A', 'Z').numeric().ofLength(16).map(s -> "AKIA" + s));
    return Arbitraries.oneOf(printedCards(), ibans(), emails, ssns, phones, keys);
  }

  @Property(tries = 300)
  void validCards_areFoundInProse(@ForAll("prose") String before, @ForAll("printedCards") String card,
      @ForAll("prose") String after) {
    String text = before + " " + card + " " + after;
    int start = before.length() + 1;
    assertThat(detector.find(text, ALL)).contains(new PiiMatch(PiiKind.CARD, start, start + card.length()));
  }

  @Property(tries = 500)
  void aSingleDigitChange_isNotACard(@ForAll("cards") String card,
      @ForAll @IntRange(min = 0, max = 18) int position, @ForAll @IntRange(min = 1, max = 9) int delta) {
    int i = position % card.length();
    char changed = (char) ('0' + (card.charAt(i) - '0' + delta) % 10);
    String wrong = card.substring(0, i) + changed + card.substring(i + 1);
    assertThat(detector.find("card " + wrong + " here", EnumSet.of(PiiKind.CARD))).isEmpty();
  }

  @Property(tries = 300)
  void validIbans_areFoundInProse(@ForAll("prose") String before, @ForAll("ibans") String iban,
      @ForAll("prose") String after) {
    String text = before + " " + iban + " " + after;
    int start = before.length() + 1;
    assertThat(detector.find(text, ALL)).contains(new PiiMatch(PiiKind.IBAN, start, start + iban.length()));
  }

  @Property(tries = 300)
  void redactedText_containsNoneOfThePiiValues(@ForAll("prose") String prose,
      @ForAll("piiLists") List<String> values) {
    String text = prose + " " + String.join(" ; ", values) + " .";
    String redacted = detector.redact(text);
    for (String value : values) {
      assertThat(redacted).doesNotContain(value);
    }
  }

  @Provide
  Arbitrary<List<String>> piiLists() {
    return piiValues().list().ofMinSize(1).ofMaxSize(6);
  }

  @Property(tries = 500)
  void redaction_isIdempotent(@ForAll("mixedText") String text) {
    String once = detector.redact(text);
    assertThat(detector.redact(once)).isEqualTo(once);
  }

  @Property(tries = 1000)
  void anyString_givesSortedNonOverlappingMatchesWithinBounds(@ForAll("mixedText") String text) {
    assertWellFormed(text);
  }

  @Property(tries = 1000)
  void arbitraryUnicode_neverThrows(@ForAll String text) {
    assertWellFormed(text);
  }

  /** Fragments that make finders work hard, glued in any order, with PII and arbitrary chars. */
  @Provide
  Arbitrary<String> mixedText() {
    Arbitrary<String> fragments = Arbitraries.of(
        "@", ".", "-", "+", " ", "\n", "\\n", "(", ")", "1", "4111", "2024", "sk-", "eyJ", "AKIA", "DE89",
        "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "Proc-Type: ", "ghp_",
        "\uD83D\uDE00", "\uD800", "\uDC00", "\u0301", "שלום", "مرحبا", "\u200B", "\u00A0", "x", "a.b", "_");
    Arbitrary<String> anyChars = Arbitraries.strings().ofMaxLength(6);
    return Arbitraries.oneOf(fragments, fragments, piiValues(), anyChars).list().ofMaxSize(30)
        .map(parts -> String.join("", parts));
  }

  private void assertWellFormed(String text) {
    List<PiiMatch> matches = detector.find(text, ALL);
    int previousEnd = 0;
    for (PiiMatch m : matches) {
      assertThat(m.start()).isGreaterThanOrEqualTo(previousEnd);
      assertThat(m.end()).isLessThanOrEqualTo(text.length());
      previousEnd = m.end();
    }
    for (PiiKind kind : PiiKind.values()) {
      assertThat(detector.find(text, EnumSet.of(kind))).allSatisfy(m -> assertThat(m.end()).isLessThanOrEqualTo(text.length()));
    }
    assertThat(detector.redact(text)).isNotNull();
  }
}

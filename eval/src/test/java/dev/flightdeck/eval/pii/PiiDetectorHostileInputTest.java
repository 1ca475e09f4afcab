package dev.flightdeck.eval.pii;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * 1 MiB of text built to make a backtracking matcher or a naive scanner go quadratic. The bound is
 * a guard against catastrophic backtracking, not a benchmark: each input takes well under a second.
 */
class PiiDetectorHostileInputTest {

  private static final int MIB = 1 << 20;

  @ParameterizedTest
  @ValueSource(strings = {
      "a@", "a.", "@a.", "a.a.a@b.b.b ", "a@a-", "x@a.b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@",
      "1", "1 ", "1-", "1.", "1234 ", "12-", "123-45-", "4111 1111 1111 1111 ", "+", "+1", "+1 ", "(415) ",
      "+49 30 ", "415-555-2671 ", "+1234567 a ",
      "sk-", "sk-a", "eyJ", "eyJa.", "eyJab.eyJab.", "AKIA", "ghp_", "xoxb-", "github_pat_",
      "-----BEGIN PRIVATE KEY-----\n", "-----BEGIN PRIVATE KEY-----\nProc-Type: ",
      "-----BEGIN PRIVATE KEY----- AAAA ", "-----BEGIN PRIVATE KEY-----\nAAAA",
      "DE89", "DE89 ", "de00 0000 ", "\uD83D\uDE00", "\uD800", "a\u0301", "مرحبا ", "- "})
  void finishesOnAMebibyteOfRepeats(String unit) {
    String text = unit.repeat(MIB / unit.length() + 1);
    String redacted = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> PiiDetector.standard().redact(text));
    assertThat(redacted).isNotEmpty();
  }
}

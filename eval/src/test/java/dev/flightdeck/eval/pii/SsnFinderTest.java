package dev.flightdeck.eval.pii;

import static dev.flightdeck.eval.pii.Texts.found;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** US Social Security numbers: the written forms, and the ranges the SSA never issues. */
class SsnFinderTest {

  @ParameterizedTest
  @ValueSource(strings = {"536-22-1234", "536 22 1234", "123-45-6789", "899-99-9999", "001-01-0001"})
  void findsSsns_withDashesOrSpaces(String ssn) {
    assertThat(found("My SSN is " + ssn + ".", PiiKind.SSN)).containsExactly(ssn);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", // areas never issued (9xx: ITINs)
      "123-00-4567", "123-45-0000"}) // group 00, serial 0000
  void ignoresNumbers_inRangesNeverIssued(String ssn) {
    assertThat(found("SSN " + ssn, PiiKind.SSN)).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "536221234", // bare nine digits: order ids, amounts (see SsnFinder)
      "536-22 1234", "536.22.1234", "978-536-22-1234", "536-22-12345", "1536-22-1234",
      "x536-22-1234", "2024-01-15", "415-555-2671", "536-22-1234-7"})
  void ignoresNumbers_thatAreNotWrittenAsAnSsn(String text) {
    assertThat(found(text, PiiKind.SSN)).isEmpty();
  }

  @Test
  void findsSeveralSsns_inOneText() {
    assertThat(found("a: 536-22-1234, b: 212 45 6789", PiiKind.SSN))
        .containsExactly("536-22-1234", "212 45 6789");
  }
}

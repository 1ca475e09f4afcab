package dev.flightdeck.eval.pii;

import static dev.flightdeck.eval.pii.Texts.found;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Email addresses: common and internationalized forms, and the strings that only contain an @. */
class EmailFinderTest {

  @ParameterizedTest
  @ValueSource(strings = {
      "john.doe@example.com", "jane+newsletter@mail.example.co.uk", "first_last-99@sub.example.io",
      "o'brien@example.ie", "100%discount@shop.example", "müller@beispiel.de", "用户@例子.广告",
      "user@site.xn--p1ai", "X@EXAMPLE.ORG"})
  void findsAddresses_inCommonAndInternationalForms(String email) {
    assertThat(found("Write to " + email + " today", PiiKind.EMAIL)).containsExactly(email);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "(%s)", "<%s>", "mailto:%s", "\"%s\"", "%s.", "%s, then", "%s;", "email=%s", "%s- or call", "me--%s", "-%s"})
  void findsTheAddressAlone_withoutSurroundingPunctuation(String template) {
    assertThat(found(String.format(template, "ana@example.org"), PiiKind.EMAIL))
        .containsExactly("ana@example.org");
  }

  @Test
  void startsTheAddress_afterAnEllipsis() {
    assertThat(found("see...jane@example.org", PiiKind.EMAIL)).containsExactly("jane@example.org");
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "lodash@4.17.21", "react@18.2.0", // package versions
      "git@github.com:org/repo.git", // scp syntax
      "user@localhost", "john@example", "a@b@c.com", "john.@example.com", "john@-example.com",
      "john@example-.com", "john@example..com", "john@ example.com", "@john", "john@.com",
      "john@example.c", "john@example.com_backup"})
  void ignoresStrings_thatAreNotAddresses(String text) {
    assertThat(found(text, PiiKind.EMAIL)).isEmpty();
  }

  @Test
  void ignoresAddresses_withOverlongParts() {
    assertThat(found("x@" + "a".repeat(64) + ".com", PiiKind.EMAIL)).isEmpty();
    assertThat(found("a".repeat(65) + "@example.com", PiiKind.EMAIL)).isEmpty();
    assertThat(found("x@" + "abcdefg.".repeat(32) + "com", PiiKind.EMAIL)).isEmpty();
  }

  @Test
  void findsEveryAddress_inAList() {
    assertThat(found("a@x.io,b@y.io; c@z.io", PiiKind.EMAIL)).containsExactly("a@x.io", "b@y.io", "c@z.io");
  }
}

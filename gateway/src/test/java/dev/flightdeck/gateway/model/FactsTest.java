package dev.flightdeck.gateway.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/** The words a semantic match must agree on, whatever the embedding says. */
class FactsTest {

  private static Optional<String> conflict(String a, String b) {
    Optional<String> ab = Facts.of(a).conflictWith(Facts.of(b));
    assertThat(Facts.of(b).conflictWith(Facts.of(a)).isPresent()).as("symmetric").isEqualTo(ab.isPresent());
    return ab;
  }

  @Test
  void numbersMustBeTheSameInTheSameOrder() {
    assertThat(conflict("refund order 1234", "refund order 5678")).get().asString().startsWith("numbers differ");
    assertThat(conflict("refund order 1234", "refund order 1243")).isPresent();
    assertThat(conflict("move it from 3 to 5", "move it from 5 to 3")).isPresent();
    assertThat(conflict("I was charged $10", "I was charged $10.50")).isPresent();
    assertThat(conflict("refund my first invoice", "refund my second invoice")).isPresent();
    assertThat(conflict("we have twelve seats", "we have 12 seats")).isEmpty();
    assertThat(conflict("refund order 01234", "please refund order 1234")).isEmpty();
  }

  @Test
  void negationsMustBeAsMany() {
    assertThat(conflict("I can log in", "I can't log in")).get().asString().startsWith("negations differ");
    assertThat(conflict("I can log in", "I cannot log in")).isPresent();
    assertThat(conflict("I can log in", "I cant log in")).isPresent();
    assertThat(conflict("Is the item in stock?", "Is the item not in stock?")).isPresent();
    assertThat(conflict("I have received it", "I have never received it")).isPresent();
    assertThat(conflict("I can\u2019t log in", "I cannot log in")).isEmpty();
    assertThat(conflict("Why doesn't my card work?", "Why isn't my card working?")).isEmpty();
  }

  @Test
  void oppositesAndTimeWordsMustBeTheSame() {
    assertThat(conflict("How do I turn on notifications?", "How do I turn off notifications?"))
        .get().asString().startsWith("opposites differ");
    assertThat(conflict("enable two-factor authentication", "disable two-factor authentication")).isPresent();
    assertThat(conflict("Does the price include VAT?", "Does the price exclude VAT?")).isPresent();
    assertThat(conflict("refund my last invoice", "refund my latest invoice")).isPresent();
    assertThat(conflict("What's the weather today?", "What's the weather tomorrow?")).isPresent();
    assertThat(conflict("notes from monday", "notes from tuesday")).isPresent();
    assertThat(conflict("How do I enable dark mode?", "How is dark mode enabled?")).isEmpty();
  }

  @Test
  void aWordMustNotBeNegatedByAPrefix() {
    assertThat(conflict("Is the address valid?", "Is the address invalid?")).get().asString().startsWith("negated word");
    assertThat(conflict("Is my account locked?", "Is my account unlocked?")).isPresent();
    assertThat(conflict("The invoice is correct", "The invoice is incorrect")).isPresent();
    assertThat(conflict("How do I subscribe to emails?", "How do I unsubscribe from emails?")).isPresent();
    assertThat(conflict("Is the service available?", "Is the service unavailable?")).isPresent();
  }

  @Test
  void namesMustAppearInBoth() {
    assertThat(conflict("Is the app available on Android?", "Is the app available on iOS?"))
        .get().asString().startsWith("name only in one");
    assertThat(conflict("Summarise the notes from Monday", "Summarise the notes from Tuesday")).isPresent();
    assertThat(conflict("Translate this into French", "Translate this into German")).isPresent();
    assertThat(conflict("Where is my order?", "  where is my ORDER  ")).isEmpty();
    assertThat(conflict("How do I reset my password?", "What's the way to reset my password? I forgot it."))
        .isEmpty();
    assertThat(conflict("Can I deploy to AWS?", "Could I deploy to aws?")).isEmpty();
  }

  @Test
  void paraphrasesWithoutSuchWordsAgree() {
    assertThat(conflict("How do I reset my password?", "How can I reset my password?")).isEmpty();
    assertThat(conflict("Can I get a refund?", "Is it possible to get a refund?")).isEmpty();
    assertThat(conflict("Where is my order?", "Where's my order?")).isEmpty();
  }

  @Property(tries = 500)
  void anyTextAgreesWithItself(@ForAll String text) {
    assertThat(Facts.of(text).conflictWith(Facts.of(text))).isEmpty();
  }
}

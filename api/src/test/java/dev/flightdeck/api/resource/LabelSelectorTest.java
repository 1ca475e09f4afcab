package dev.flightdeck.api.resource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flightdeck.api.FlightdeckException;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class LabelSelectorTest {

  private static final Map<String, String> LABELS = Map.of("team", "support", "env", "prod");

  @Test
  void matchesEqualityExistenceAndSetRequirements() {
    assertThat(LabelSelector.parse("team=support").matches(LABELS)).isTrue();
    assertThat(LabelSelector.parse("team==support,env=prod").matches(LABELS)).isTrue();
    assertThat(LabelSelector.parse("team!=support").matches(LABELS)).isFalse();
    assertThat(LabelSelector.parse("tier!=canary").matches(LABELS)).isTrue();
    assertThat(LabelSelector.parse("env in (prod, staging)").matches(LABELS)).isTrue();
    assertThat(LabelSelector.parse("env notin (prod)").matches(LABELS)).isFalse();
    assertThat(LabelSelector.parse("team,!experimental").matches(LABELS)).isTrue();
    assertThat(LabelSelector.parse("!team").matches(LABELS)).isFalse();
    assertThat(LabelSelector.parse("").matches(LABELS)).isTrue();
  }

  @Test
  void badSelectorsSayWhichPartCannotBeRead() {
    assertThatThrownBy(() -> LabelSelector.parse("team=support,=x"))
        .isInstanceOf(FlightdeckException.class)
        .hasMessageContaining("cannot read \"=x\"")
        .hasMessageContaining("expected key, !key, key=value");
    assertThatThrownBy(() -> LabelSelector.parse("env in (a b)")).hasMessageContaining("not a valid label value");
  }

  @Property(tries = 2000)
  void anyInputEitherParsesOrFailsWithAFlightdeckException(@ForAll String input) {
    try {
      LabelSelector.parse(input).matches(LABELS);
    } catch (FlightdeckException e) {
      assertThat(e.getMessage()).startsWith("label selector");
    }
  }
}

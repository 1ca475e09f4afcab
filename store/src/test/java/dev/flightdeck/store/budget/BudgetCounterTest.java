package dev.flightdeck.store.budget;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a counter accepts, and the one key order. */
class BudgetCounterTest {

  @Test
  void acceptsPrintableKeysUpTo400CodePoints() {
    String emoji = "😀".repeat(400); // 800 UTF-16 chars, 400 characters
    assertThat(new BudgetCounter(emoji, "b", -1, -1, 0).key()).isEqualTo(emoji);
    assertThatThrownBy(() -> new BudgetCounter(emoji + "x", "b", -1, -1, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 to 400 characters, got 401");
    assertThatThrownBy(() -> new BudgetCounter("", "b", -1, -1, 0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void rejectsControlCharacters_sinceNewlinesSeparateKeysInTheStore() {
    assertThatThrownBy(() -> new BudgetCounter("a\nb", "b", -1, -1, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("a?b: control characters");
    assertThatThrownBy(() -> new BudgetCounter("a\tb", "b", -1, -1, 0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void rejectsLimitsBelowMinusOneAndBlankBudgets() {
    assertThatThrownBy(() -> new BudgetCounter("k", "b", -2, -1, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("non-negative amount or -1");
    assertThatThrownBy(() -> new BudgetCounter("k", " ", 1, 1, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("budget name");
  }

  @Test
  void keyOrderIsCodePointOrder_asTheDatabasesSortKeys() {
    List<String> keys = new ArrayList<>(List.of("b", "😀", "\uFFFD", "a/z", "a", "A", "é"));
    keys.sort(BudgetStore.KEY_ORDER);
    // UTF-16 order would put U+1F600 (a surrogate pair, 0xD83D...) before U+FFFD.
    assertThat(keys).containsExactly("A", "a", "a/z", "b", "é", "\uFFFD", "😀");
  }
}

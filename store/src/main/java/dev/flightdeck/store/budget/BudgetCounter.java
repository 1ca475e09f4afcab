package dev.flightdeck.store.budget;

/**
 * One counter a call is charged to.
 *
 * @param key e.g. {@code budget/triage-daily/agent/support-triage/2026-11-23}: 1 to 400 printable
 *     characters (no control characters; newlines separate keys in the store)
 * @param budget the Budget resource's name, for messages
 * @param limitTokens the limit now in force on tokens, or -1 for none
 * @param limitNanoUsd the limit now in force on cost in nano-dollars, or -1 for none
 * @param expiresAtMillis when the counter may be deleted (e.g. the end of its day); a later
 *     value passed with another reservation extends it, an earlier one does not shorten it
 */
public record BudgetCounter(String key, String budget, long limitTokens, long limitNanoUsd, long expiresAtMillis) {

  /** The longest key, in characters (code points). */
  public static final int MAX_KEY_LENGTH = 400;

  /** Checks the key, budget name and limits. */
  public BudgetCounter {
    int length = key.codePointCount(0, key.length());
    if (length == 0 || length > MAX_KEY_LENGTH) {
      throw new IllegalArgumentException("budget counter key: expected 1 to " + MAX_KEY_LENGTH
          + " characters, got " + length);
    }
    if (key.codePoints().anyMatch(Character::isISOControl)) {
      throw new IllegalArgumentException("budget counter key " + key.replaceAll("\\p{Cntrl}", "?")
          + ": control characters (newlines, tabs, ...) are not allowed");
    }
    if (budget.isBlank() || budget.length() > 63) {
      throw new IllegalArgumentException("budget counter " + key + ": budget name must be 1 to 63 characters, got \""
          + budget + "\"");
    }
    if (limitTokens < -1 || limitNanoUsd < -1) {
      throw new IllegalArgumentException("budget counter " + key + ": a limit is a non-negative amount or -1 (none), got "
          + limitTokens + " tokens and " + limitNanoUsd + " nano-USD");
    }
  }
}

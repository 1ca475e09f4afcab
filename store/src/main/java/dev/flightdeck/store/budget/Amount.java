package dev.flightdeck.store.budget;

/**
 * Tokens and nano-dollars (1e-9 USD) as longs, so sums are exact. Where an amount is a remaining
 * allowance, -1 on a dimension means unlimited; amounts passed to {@link BudgetStore} are never
 * negative.
 */
public record Amount(long tokens, long nanoUsd) {

  /** Nothing on either dimension. */
  public static final Amount ZERO = new Amount(0, 0);

  /** This amount plus {@code other}, dimension by dimension. @throws ArithmeticException on overflow */
  public Amount plus(Amount other) {
    return new Amount(Math.addExact(tokens, other.tokens), Math.addExact(nanoUsd, other.nanoUsd));
  }
}

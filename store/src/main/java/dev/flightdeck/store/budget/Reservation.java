package dev.flightdeck.store.budget;

/** The outcome of {@link BudgetStore#reserve}: granted on every counter, or denied on one. */
public sealed interface Reservation permits Reservation.Granted, Reservation.Denied {

  /**
   * The amount is held on every counter until {@link BudgetStore#settle} (or the sweeper, once the
   * hold expires) settles {@code reservationId}.
   *
   * @param counters the keys of the counters it is held on, in key order
   * @param remainingTokensAndNano the smallest allowance left after this reservation over all
   *     counters, per dimension; -1 where no counter has a limit
   */
  record Granted(long reservationId, java.util.List<String> counters, Amount reserved, Amount remainingTokensAndNano)
      implements Reservation {

    /** Copies the keys. */
    public Granted {
      counters = java.util.List.copyOf(counters);
    }
  }

  /**
   * Nothing was reserved: {@code counter} (the first in key order without room) has
   * {@code usedAndReserved} against its limits, and {@code asked} did not fit.
   */
  record Denied(BudgetCounter counter, Amount usedAndReserved, Amount asked) implements Reservation {}
}

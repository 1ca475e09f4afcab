package dev.flightdeck.eval.assertion;

/** One check on a run. Compiled once per case by {@link Assertions}; safe to call from many threads. */
public interface Assertion {

  /** How the assertion is shown in reports, e.g. {@code contains "billing"}. */
  String label();

  /** Checks one run. Never throws for anything the agent sent: a bad answer is a failure, not an error. */
  Check check(RunOutput run, AssertionContext context);

  /** Whether it reads the trajectory (reports show trajectory failures apart). */
  default boolean trajectory() {
    return false;
  }

  /** The assertion with its verdict flipped; unmeasured stays unmeasured. */
  static Assertion not(Assertion inner) {
    return new Assertion() {
      @Override
      public String label() {
        return "not " + inner.label();
      }

      @Override
      public Check check(RunOutput run, AssertionContext context) {
        Check c = inner.check(run, context);
        return switch (c.status()) {
          case PASS -> Check.fail("expected not: " + c.message());
          case FAIL -> Check.pass(c.message());
          case UNMEASURED -> c;
        };
      }

      @Override
      public boolean trajectory() {
        return inner.trajectory();
      }
    };
  }
}

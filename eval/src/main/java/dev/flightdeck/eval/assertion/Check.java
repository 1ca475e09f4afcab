package dev.flightdeck.eval.assertion;

/** The outcome of one assertion on one run, with a message a person can act on. */
public record Check(Status status, String message) {

  /** Passed, failed, or could not be measured (a judge that did not answer); unmeasured is never a pass. */
  public enum Status { PASS, FAIL, UNMEASURED }

  /** A pass. */
  public static Check pass(String message) {
    return new Check(Status.PASS, message);
  }

  /** A failure. */
  public static Check fail(String message) {
    return new Check(Status.FAIL, message);
  }

  /** Not measured: counts neither way. */
  public static Check unmeasured(String message) {
    return new Check(Status.UNMEASURED, message);
  }

  /** A check that passes when {@code ok}, with the message for each outcome. */
  public static Check of(boolean ok, String whenPass, String whenFail) {
    return ok ? pass(whenPass) : fail(whenFail);
  }
}

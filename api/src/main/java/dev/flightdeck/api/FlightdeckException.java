package dev.flightdeck.api;

/** Root of every unchecked exception Flightdeck throws; messages say what, where, and what to do. */
public class FlightdeckException extends RuntimeException {

  /** Creates an exception with a message for people. */
  public FlightdeckException(String message) {
    super(message);
  }

  /** Creates an exception with a message for people and its cause. */
  public FlightdeckException(String message, Throwable cause) {
    super(message, cause);
  }
}

package dev.flightdeck.api;

/** A change conflicts with stored state: a stale resourceVersion, an immutable spec, a dependent. */
public class ConflictException extends FlightdeckException {

  /** Creates the exception; the message names both sides of the conflict. */
  public ConflictException(String message) {
    super(message);
  }
}

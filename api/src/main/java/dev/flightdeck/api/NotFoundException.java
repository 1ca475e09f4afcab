package dev.flightdeck.api;

/** A named resource, token or entry does not exist. */
public class NotFoundException extends FlightdeckException {

  /** Creates the exception for a missing thing. */
  public NotFoundException(String message) {
    super(message);
  }
}

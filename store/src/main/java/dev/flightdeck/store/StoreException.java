package dev.flightdeck.store;

import dev.flightdeck.api.FlightdeckException;

/** The database failed or refused an operation; the message says which and what to check. */
public class StoreException extends FlightdeckException {

  /** Creates the exception with the underlying cause. */
  public StoreException(String message, Throwable cause) {
    super(message, cause);
  }
}

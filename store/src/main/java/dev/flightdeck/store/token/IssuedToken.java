package dev.flightdeck.store.token;

/**
 * A token just created: the only moment its secret exists outside the holder's hands.
 *
 * @param token the stored record
 * @param secret the bearer token to hand over; Flightdeck keeps only its hash
 */
public record IssuedToken(ApiToken token, String secret) {

  @Override
  public String toString() {
    return "IssuedToken[" + token + ", secret=***]";
  }
}

package dev.flightdeck.eval.pii;

import java.util.Objects;
import java.util.Optional;

/** A kind of personal data the detector knows. */
public enum PiiKind {
  EMAIL("email"),
  PHONE("phone"),
  CARD("card"),
  IBAN("iban"),
  SSN("ssn"),
  API_KEY("api-key");

  private final String id;

  PiiKind(String id) {
    this.id = id;
  }

  /** The name used in suite files: email, phone, card, iban, ssn, api-key. */
  public String id() {
    return id;
  }

  /** The kind whose {@link #id()} is exactly {@code id}, if there is one. */
  public static Optional<PiiKind> fromId(String id) {
    Objects.requireNonNull(id, "id");
    for (PiiKind kind : values()) {
      if (kind.id.equals(id)) {
        return Optional.of(kind);
      }
    }
    return Optional.empty();
  }
}

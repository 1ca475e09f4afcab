package dev.flightdeck.api.auth;

import java.util.Locale;
import java.util.Optional;

/** What a principal may do; each role includes the ones before it. */
public enum Role {
  /** Reads resources, history and metrics. */
  VIEWER,
  /** Also applies and deletes resources and reads the audit log. */
  OPERATOR,
  /** Also manages API tokens. */
  ADMIN;

  /** Whether this role includes {@code required}. */
  public boolean includes(Role required) {
    return compareTo(required) >= 0;
  }

  /** The lowercase name used in the API and CLI. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses {@code viewer}, {@code operator} or {@code admin} (any case). */
  public static Optional<Role> parse(String s) {
    for (Role r : values()) {
      if (r.id().equalsIgnoreCase(s.strip())) {
        return Optional.of(r);
      }
    }
    return Optional.empty();
  }
}

package dev.flightdeck.api.auth;

import java.util.Objects;

/**
 * Who is acting: a person or tool holding an API token, or Flightdeck itself.
 *
 * @param name shown in history and the audit log, e.g. {@code token:ci-deployer}
 * @param role what it may do
 */
public record Principal(String name, Role role) {

  /** Flightdeck's own controllers, acting on stored state. */
  public static final Principal SYSTEM = new Principal("system:flightdeck", Role.ADMIN);

  /** Checks the parts. */
  public Principal {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(role, "role");
  }
}

package dev.flightdeck.server.http;

import dev.flightdeck.api.auth.Role;
import io.javalin.security.RouteRole;
import java.util.Optional;

/** Who may call a route. Every route declares one; a route without is refused (fail closed). */
enum Access implements RouteRole {
  OPEN(Optional.empty()),
  VIEWER(Optional.of(Role.VIEWER)),
  OPERATOR(Optional.of(Role.OPERATOR)),
  ADMIN(Optional.of(Role.ADMIN));

  private final Optional<Role> role;

  Access(Optional<Role> role) {
    this.role = role;
  }

  Optional<Role> role() {
    return role;
  }
}

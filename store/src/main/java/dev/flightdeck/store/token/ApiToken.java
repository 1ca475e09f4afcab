package dev.flightdeck.store.token;

import dev.flightdeck.api.auth.Role;
import java.time.Instant;
import java.util.Optional;

/**
 * An API token as stored: never the token itself, only who it is for and what it may do.
 *
 * @param id stable id used to revoke it
 * @param name who or what holds it, e.g. {@code alice} or {@code ci-deployer}
 * @param role what it may do
 * @param createdAt when it was issued
 * @param createdBy who issued it
 * @param revokedAt when it was revoked, if it was
 */
public record ApiToken(String id, String name, Role role, Instant createdAt, String createdBy, Optional<Instant> revokedAt) {

  /** The principal name shown in history and audit entries: {@code token:NAME}. */
  public String principalName() {
    return "token:" + name;
  }
}

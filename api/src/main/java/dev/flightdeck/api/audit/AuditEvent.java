package dev.flightdeck.api.audit;

import java.util.Objects;
import java.util.Optional;

/**
 * Something to record in the audit log: who did what to which resource, and the digests of the
 * resource before and after (absent when it did not exist before, or no longer exists after).
 *
 * @param principal who acted, e.g. {@code token:alice} or {@code system:flightdeck}
 * @param action what was done, e.g. {@code resource.create}, {@code token.revoke}, {@code rollout.rollback}
 * @param resource what it was done to, e.g. {@code agent/support-triage}
 * @param before digest of the resource document before the action
 * @param after digest of the resource document after the action
 * @param details free-form JSON text with the decision's evidence; {@code {}} when none
 */
public record AuditEvent(
    String principal,
    String action,
    String resource,
    Optional<String> before,
    Optional<String> after,
    String details) {

  /** Checks the parts. */
  public AuditEvent {
    Objects.requireNonNull(principal, "principal");
    Objects.requireNonNull(action, "action");
    Objects.requireNonNull(resource, "resource");
    Objects.requireNonNull(before, "before");
    Objects.requireNonNull(after, "after");
    Objects.requireNonNull(details, "details");
  }
}

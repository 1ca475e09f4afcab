package dev.flightdeck.api.audit;

import java.time.Instant;
import java.util.Objects;

/**
 * One link of the audit chain: the event, its position and time, and the hashes that tie it to
 * the entry before it. {@code hash = SHA-256(prevHash || SHA-256(canonical(entry)))}.
 *
 * @param seq position in the log, from 1, without gaps
 * @param time when it was appended (millisecond precision, UTC)
 * @param event what happened
 * @param prevHash the previous entry's hash (64 zeros for the first entry), lowercase hex
 * @param hash this entry's hash, lowercase hex
 */
public record AuditEntry(long seq, Instant time, AuditEvent event, String prevHash, String hash) {

  /** Checks the parts. */
  public AuditEntry {
    Objects.requireNonNull(time, "time");
    Objects.requireNonNull(event, "event");
    Objects.requireNonNull(prevHash, "prevHash");
    Objects.requireNonNull(hash, "hash");
  }
}

package dev.flightdeck.store.audit;

import dev.flightdeck.api.audit.AuditEvent;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.Tx;
import java.sql.SQLException;
import java.util.List;

/**
 * The tamper-evident audit log (hash-chained entries with signed checkpoints).
 * CONTRACT ONLY — being implemented in the audit worktree; see the audit task.
 */
public final class AuditLog implements AutoCloseable {

  private final Database db;

  /** Opens the audit log stored in {@code db}. */
  public AuditLog(Database db) {
    this.db = db;
  }

  /** Appends events inside the caller's transaction: they commit or roll back with it. */
  public void append(Tx tx, List<AuditEvent> events) throws SQLException {
    // Implemented by the audit task.
  }

  @Override
  public void close() {
  }
}

package dev.flightdeck.store.rollout;

import dev.flightdeck.api.audit.AuditEvent;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.audit.AuditLog;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The rollout controller's state and decisions. A transition replaces a rollout's state, appends
 * the decision that led to it and writes its audit entry, all in one transaction, and only if
 * the state is still the one the caller read: after a crash, a rollout is exactly in the state of
 * its last decision.
 */
public final class RolloutStore {

  /**
   * A rollout's state as stored: {@code seq} counts its transitions; {@code routedSeq} is the
   * latest seq whose routing the controller has written to the Agent.
   */
  public record Stored(String name, long seq, String state, long updatedAt, long routedSeq) {}

  /** A decision: what was done, by whom, at which step, and the evidence (JSON) if any. */
  public record Decision(String rollout, long seq, long at, String actor, String action, int attempt, int step,
      String phase, String reason, Optional<String> evidence) {}

  private final Database db;
  private final AuditLog audit;

  /** Rollout state in {@code db}, decisions audited in {@code audit}. */
  public RolloutStore(Database db, AuditLog audit) {
    this.db = db;
    this.audit = audit;
  }

  /** The stored state of a rollout. */
  public Optional<Stored> get(String name) {
    return db.read("rollout.get", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "SELECT name, seq, state, updated_at, routed_seq FROM fd_rollout_state WHERE name = ?")) {
        ps.setString(1, name);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(new Stored(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getLong(4), rs.getLong(5)))
              : Optional.empty();
        }
      }
    });
  }

  /** Every stored rollout state. */
  public List<Stored> list() {
    return db.read("rollout.list", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "SELECT name, seq, state, updated_at, routed_seq FROM fd_rollout_state ORDER BY name");
          ResultSet rs = ps.executeQuery()) {
        List<Stored> out = new ArrayList<>();
        while (rs.next()) {
          out.add(new Stored(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getLong(4), rs.getLong(5)));
        }
        return out;
      }
    });
  }

  /**
   * Moves a rollout from the state with {@code expectedSeq} (0: none stored yet) to
   * {@code state}, recording {@code decision} (its seq is assigned here) and {@code event}.
   *
   * @return the new seq, or empty when the stored state is no longer at {@code expectedSeq}
   */
  public Optional<Long> transition(String name, long expectedSeq, String state, Decision decision, AuditEvent event) {
    return db.inTransaction("rollout.transition", tx -> {
      long next = expectedSeq + 1;
      int changed;
      if (expectedSeq == 0) {
        try (PreparedStatement ps = tx.connection().prepareStatement(
            "INSERT INTO fd_rollout_state (name, seq, state, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING")) {
          ps.setString(1, name);
          ps.setLong(2, next);
          ps.setString(3, state);
          ps.setLong(4, decision.at());
          changed = ps.executeUpdate();
        }
        if (changed == 1) {
          // A rollout deleted and created again starts a fresh decision log.
          try (PreparedStatement del = tx.connection().prepareStatement("DELETE FROM fd_rollout_decision WHERE rollout = ?")) {
            del.setString(1, name);
            del.executeUpdate();
          }
        }
      } else {
        try (PreparedStatement ps = tx.connection().prepareStatement(
            "UPDATE fd_rollout_state SET seq = ?, state = ?, updated_at = ? WHERE name = ? AND seq = ?")) {
          ps.setLong(1, next);
          ps.setString(2, state);
          ps.setLong(3, decision.at());
          ps.setString(4, name);
          ps.setLong(5, expectedSeq);
          changed = ps.executeUpdate();
        }
      }
      if (changed != 1) {
        return Optional.<Long>empty();
      }
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "INSERT INTO fd_rollout_decision (rollout, seq, at, actor, action, attempt, step, phase, reason, evidence)"
              + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
        ps.setString(1, name);
        ps.setLong(2, next);
        ps.setLong(3, decision.at());
        ps.setString(4, decision.actor());
        ps.setString(5, decision.action());
        ps.setInt(6, decision.attempt());
        ps.setInt(7, decision.step());
        ps.setString(8, decision.phase());
        ps.setString(9, decision.reason());
        ps.setString(10, decision.evidence().orElse(null));
        ps.executeUpdate();
      }
      audit.append(tx, List.of(event));
      return Optional.of(next);
    });
  }

  /** Notes that the routing of state {@code seq} has been written (no decision: nothing was decided). */
  public void markRouted(String name, long seq) {
    db.inTransaction("rollout.routed", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "UPDATE fd_rollout_state SET routed_seq = ? WHERE name = ? AND seq = ?")) {
        ps.setLong(1, seq);
        ps.setString(2, name);
        ps.setLong(3, seq);
        ps.executeUpdate();
      }
      return null;
    });
  }

  /** Forgets a rollout's state and decisions (its audit entries stay). */
  public void delete(String name, long expectedSeq) {
    db.inTransaction("rollout.delete", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement("DELETE FROM fd_rollout_state WHERE name = ? AND seq = ?");
          PreparedStatement dd = tx.connection().prepareStatement("DELETE FROM fd_rollout_decision WHERE rollout = ?")) {
        ps.setString(1, name);
        ps.setLong(2, expectedSeq);
        if (ps.executeUpdate() == 1) {
          dd.setString(1, name);
          dd.executeUpdate();
        }
      }
      return null;
    });
  }

  /** A rollout's decisions, oldest first; the latest {@code limit} of them. */
  public List<Decision> decisions(String name, int limit) {
    return db.read("rollout.decisions", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "SELECT rollout, seq, at, actor, action, attempt, step, phase, reason, evidence FROM fd_rollout_decision"
              + " WHERE rollout = ? ORDER BY seq DESC LIMIT ?")) {
        ps.setString(1, name);
        ps.setInt(2, limit);
        List<Decision> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(new Decision(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getString(4), rs.getString(5),
                rs.getInt(6), rs.getInt(7), rs.getString(8), rs.getString(9), Optional.ofNullable(rs.getString(10))));
          }
        }
        return out.reversed();
      }
    });
  }
}

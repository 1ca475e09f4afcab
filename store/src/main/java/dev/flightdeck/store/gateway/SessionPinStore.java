package dev.flightdeck.store.gateway;

import dev.flightdeck.store.Database;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Stored session pins, shared by every gateway replica. The first pin written for a session
 * wins: inserts never overwrite, so two replicas racing on a new session agree afterwards.
 */
public final class SessionPinStore {

  private final Database db;

  /** Pins in {@code db}. */
  public SessionPinStore(Database db) {
    this.db = db;
  }

  /** The live pin of a session, if any. */
  public Optional<SessionPin> find(String agent, String sessionId, long now) {
    return db.read("pin.find", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "SELECT version, created_at, expires_at FROM fd_session_pin WHERE agent = ? AND session_id = ?")) {
        ps.setString(1, agent);
        ps.setString(2, sessionId);
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next() || rs.getLong(3) <= now) {
            return Optional.empty();
          }
          return Optional.of(new SessionPin(agent, sessionId, rs.getString(1), rs.getLong(2), rs.getLong(3)));
        }
      }
    });
  }

  /**
   * Writes pins in one transaction. A session that already has a live pin keeps it, an expired
   * one is replaced; the pins that lost to a stored one are returned as stored.
   */
  public List<SessionPin> insert(List<SessionPin> pins, long now) {
    if (pins.isEmpty()) {
      return List.of();
    }
    return db.inTransaction("pin.insert", tx -> {
      try (PreparedStatement expired = tx.connection().prepareStatement(
              "DELETE FROM fd_session_pin WHERE agent = ? AND session_id = ? AND expires_at <= ?");
          PreparedStatement ins = tx.connection().prepareStatement(
              "INSERT INTO fd_session_pin (agent, session_id, version, created_at, expires_at) VALUES (?, ?, ?, ?, ?)"
                  + " ON CONFLICT (agent, session_id) DO NOTHING")) {
        for (SessionPin p : pins) {
          expired.setString(1, p.agent());
          expired.setString(2, p.sessionId());
          expired.setLong(3, now);
          expired.addBatch();
          ins.setString(1, p.agent());
          ins.setString(2, p.sessionId());
          ins.setString(3, p.version());
          ins.setLong(4, p.createdAt());
          ins.setLong(5, p.expiresAt());
          ins.addBatch();
        }
        expired.executeBatch();
        int[] counts = ins.executeBatch();
        List<SessionPin> lost = new ArrayList<>();
        for (int i = 0; i < counts.length; i++) {
          if (counts[i] == 0) {
            lost.add(pins.get(i));
          }
        }
        if (lost.isEmpty()) {
          return List.<SessionPin>of();
        }
        List<SessionPin> stored = new ArrayList<>();
        try (PreparedStatement ps = tx.connection().prepareStatement(
            "SELECT version, created_at, expires_at FROM fd_session_pin WHERE agent = ? AND session_id = ?")) {
          for (SessionPin p : lost) {
            ps.setString(1, p.agent());
            ps.setString(2, p.sessionId());
            try (ResultSet rs = ps.executeQuery()) {
              if (rs.next()) {
                stored.add(new SessionPin(p.agent(), p.sessionId(), rs.getString(1), rs.getLong(2), rs.getLong(3)));
              }
            }
          }
        }
        return stored;
      }
    });
  }

  /**
   * Moves sessions to another version (after the version they were pinned to was removed and
   * the agent allows migration): only pins still on {@code fromVersion} move.
   */
  public void migrate(List<SessionPin> pins, String fromVersion) {
    db.inTransaction("pin.migrate", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(
          // An upsert, not an update: the old pin may not be written yet (pins are written in
          // batches), and when it is, it must not win over the move (its insert does nothing).
          "INSERT INTO fd_session_pin (agent, session_id, version, created_at, expires_at) VALUES (?, ?, ?, ?, ?)"
              + " ON CONFLICT (agent, session_id) DO UPDATE SET version = excluded.version,"
              + " created_at = excluded.created_at, expires_at = excluded.expires_at"
              + " WHERE fd_session_pin.version = ?")) {
        for (SessionPin p : pins) {
          ps.setString(1, p.agent());
          ps.setString(2, p.sessionId());
          ps.setString(3, p.version());
          ps.setLong(4, p.createdAt());
          ps.setLong(5, p.expiresAt());
          ps.setString(6, fromVersion);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      return null;
    });
  }

  /** Extends the life of pins (sliding expiry). */
  public void extend(List<SessionPin> pins) {
    if (pins.isEmpty()) {
      return;
    }
    db.inTransaction("pin.extend", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "UPDATE fd_session_pin SET expires_at = ? WHERE agent = ? AND session_id = ? AND expires_at < ?")) {
        for (SessionPin p : pins) {
          ps.setLong(1, p.expiresAt());
          ps.setString(2, p.agent());
          ps.setString(3, p.sessionId());
          ps.setLong(4, p.expiresAt());
          ps.addBatch();
        }
        ps.executeBatch();
      }
      return null;
    });
  }

  /** Deletes expired pins; returns how many. */
  public int deleteExpired(long now) {
    return db.inTransaction("pin.expire", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "DELETE FROM fd_session_pin WHERE expires_at <= ?")) {
        ps.setLong(1, now);
        return ps.executeUpdate();
      }
    });
  }

  /** Live sessions pinned to each version of an agent (a draining version's remaining sessions). */
  public Map<String, Long> countByVersion(String agent, long now) {
    return db.read("pin.count", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "SELECT version, COUNT(*) FROM fd_session_pin WHERE agent = ? AND expires_at > ? GROUP BY version ORDER BY version")) {
        ps.setString(1, agent);
        ps.setLong(2, now);
        Map<String, Long> out = new LinkedHashMap<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.put(rs.getString(1), rs.getLong(2));
          }
        }
        return out;
      }
    });
  }
}

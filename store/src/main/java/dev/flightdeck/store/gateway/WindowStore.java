package dev.flightdeck.store.gateway;

import dev.flightdeck.store.Database;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;

/**
 * Per-second telemetry of each agent version, as each gateway replica wrote it. The rollout
 * controller reads the in-process windows directly; this table is how it sees other replicas.
 */
public final class WindowStore {

  /** One replica's telemetry of one version for one second; {@code data} is JSON. */
  public record Row(String replica, String version, long second, String data) {}

  private final Database db;

  /** Windows in {@code db}. */
  public WindowStore(Database db) {
    this.db = db;
  }

  /** Writes rows, replacing any with the same key, and drops rows older than {@code keepAfter}. */
  public void write(List<Row> rows, long keepAfter) {
    db.inTransaction("window.write", tx -> {
      try (PreparedStatement del = tx.connection().prepareStatement(
              "DELETE FROM fd_gateway_window WHERE replica = ? AND version = ? AND second = ?");
          PreparedStatement ins = tx.connection().prepareStatement(
              "INSERT INTO fd_gateway_window (replica, version, second, data) VALUES (?, ?, ?, ?)");
          PreparedStatement old = tx.connection().prepareStatement(
              "DELETE FROM fd_gateway_window WHERE second < ?")) {
        for (Row r : rows) {
          del.setString(1, r.replica());
          del.setString(2, r.version());
          del.setLong(3, r.second());
          del.addBatch();
          ins.setString(1, r.replica());
          ins.setString(2, r.version());
          ins.setLong(3, r.second());
          ins.setString(4, r.data());
          ins.addBatch();
        }
        if (!rows.isEmpty()) {
          del.executeBatch();
          ins.executeBatch();
        }
        old.setLong(1, keepAfter);
        old.executeUpdate();
      }
      return null;
    });
  }

  /** Rows of a version with {@code second >= from}, every replica, oldest first. */
  public List<Row> read(String version, long from) {
    return db.read("window.read", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "SELECT replica, version, second, data FROM fd_gateway_window WHERE version = ? AND second >= ? ORDER BY second, replica")) {
        ps.setString(1, version);
        ps.setLong(2, from);
        List<Row> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(new Row(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getString(4)));
          }
        }
        return out;
      }
    });
  }
}

package dev.flightdeck.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * The named counters in {@code fd_counter}: {@code revision} (every resource write) and
 * {@code model_keys} (every model key created or revoked). Each read is one primary-key lookup.
 */
public final class Counters {

  private Counters() {}

  /** The counter's current value. */
  public static long read(Tx tx, String name) throws SQLException {
    try (PreparedStatement ps = tx.connection().prepareStatement("SELECT value FROM fd_counter WHERE name = ?")) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new SQLException("no counter " + name + " in fd_counter; the schema migrations did not run");
        }
        return rs.getLong(1);
      }
    }
  }

  /**
   * Adds one to the counter and returns the new value. On PostgreSQL this locks the counter's row
   * until the transaction ends, so writers of one counter take their numbers in commit order.
   */
  public static long next(Tx tx, String name) throws SQLException {
    try (PreparedStatement ps = tx.connection().prepareStatement("UPDATE fd_counter SET value = value + 1 WHERE name = ?")) {
      ps.setString(1, name);
      ps.executeUpdate();
    }
    return read(tx, name);
  }
}

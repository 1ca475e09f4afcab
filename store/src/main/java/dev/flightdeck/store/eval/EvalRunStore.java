package dev.flightdeck.store.eval;

import dev.flightdeck.store.Database;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Results of scheduled eval runs. A run is first claimed (one row per suite and scheduled time,
 * so only one replica runs it), then finished with its figures and a JSON summary.
 */
public final class EvalRunStore {

  /** One scheduled run; the figures are empty until it finished. */
  public record Row(String suite, long scheduledAt, String replica, String state, Optional<Long> finishedAt,
      Optional<Double> pass1, Optional<Double> ciLow, Optional<Double> ciHigh, Optional<Integer> runs,
      Optional<Boolean> gatePassed, Optional<String> summary) {}

  private final Database db;

  /** Runs in {@code db}. */
  public EvalRunStore(Database db) {
    this.db = db;
  }

  /** Claims the run of {@code suite} scheduled at {@code scheduledAt}; false when another replica has. */
  public boolean claim(String suite, long scheduledAt, String replica) {
    return db.inTransaction("eval.claim", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "INSERT INTO fd_eval_run (suite, scheduled_at, replica, state) VALUES (?, ?, ?, 'running')"
              + " ON CONFLICT (suite, scheduled_at) DO NOTHING")) {
        ps.setString(1, suite);
        ps.setLong(2, scheduledAt);
        ps.setString(3, replica);
        return ps.executeUpdate() == 1;
      }
    });
  }

  /** Records the outcome of a claimed run ({@code state} is passed, failed or error). */
  public void finish(String suite, long scheduledAt, String state, long finishedAt, double pass1, double ciLow,
      double ciHigh, int runs, boolean gatePassed, String summary) {
    db.inTransaction("eval.finish", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "UPDATE fd_eval_run SET state = ?, finished_at = ?, pass1 = ?, ci_low = ?, ci_high = ?, runs = ?,"
              + " gate_passed = ?, summary = ? WHERE suite = ? AND scheduled_at = ?")) {
        ps.setString(1, state);
        ps.setLong(2, finishedAt);
        ps.setDouble(3, pass1);
        ps.setDouble(4, ciLow);
        ps.setDouble(5, ciHigh);
        ps.setInt(6, runs);
        ps.setBoolean(7, gatePassed);
        ps.setString(8, summary);
        ps.setString(9, suite);
        ps.setLong(10, scheduledAt);
        ps.executeUpdate();
      }
      return null;
    });
  }

  /** The latest runs of a suite, newest first. */
  public List<Row> list(String suite, int limit) {
    return db.read("eval.list", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "SELECT suite, scheduled_at, replica, state, finished_at, pass1, ci_low, ci_high, runs, gate_passed, summary"
              + " FROM fd_eval_run WHERE suite = ? ORDER BY scheduled_at DESC LIMIT ?")) {
        ps.setString(1, suite);
        ps.setInt(2, limit);
        List<Row> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            long finished = rs.getLong(5);
            boolean done = !rs.wasNull();
            out.add(new Row(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getString(4),
                done ? Optional.of(finished) : Optional.empty(),
                done ? Optional.of(rs.getDouble(6)) : Optional.empty(),
                done ? Optional.of(rs.getDouble(7)) : Optional.empty(),
                done ? Optional.of(rs.getDouble(8)) : Optional.empty(),
                done ? Optional.of(rs.getInt(9)) : Optional.empty(),
                done ? Optional.of(rs.getBoolean(10)) : Optional.empty(),
                Optional.ofNullable(rs.getString(11))));
          }
        }
        return out;
      }
    });
  }
}

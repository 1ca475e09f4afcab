package dev.flightdeck.store.budget;

import dev.flightdeck.store.Database;
import dev.flightdeck.store.Dialect;
import dev.flightdeck.store.StoreException;
import dev.flightdeck.store.Tx;
import java.nio.charset.StandardCharsets;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.UnaryOperator;

/**
 * Budget counters that cannot be overspent, however many gateway processes share the database.
 *
 * <p>Guarantees: a reservation is granted only if, on every counter and every limited dimension,
 * used + reserved + asked stays within the limit at that moment, and then it is held on all of
 * them or on none. Every granted reservation is settled exactly once (by {@link #settle} or by the
 * sweeper at its full amount), and settling charges the real usage, overruns included. Hence the
 * sum over granted calls of min(actual, reserved) never exceeds a limit; only overruns of calls
 * already granted can take used past it.
 *
 * <p>How: one conditional upsert adds the amount to every counter only where it fits
 * ({@code ON CONFLICT DO UPDATE ... WHERE fits}); fewer rows than counters means no room, and
 * everything is undone. Never reads a counter and writes back a value computed in Java: every
 * change is an increment in SQL, so writers on any number of connections cannot lose one. The
 * upsert writes its rows in key order, and settling and expiry lock counters in the same order,
 * so no two transactions wait for each other in a cycle.
 *
 * <p>The hot row: every call of an agent hits its per-day counter, whose row lock is held until
 * commit, so calls on one agent go one lock holder after another. On PostgreSQL, reserving and
 * settling are therefore each one autocommit statement (the lock is never held across a round
 * trip to this process), and their commits do not wait for the WAL flush
 * ({@code synchronous_commit} off, for these transactions only): with the flush, the lock is held
 * through it, which caps a hot counter at one flush per transaction whatever else is done.
 * Measured with HotCounterBench (its Javadoc has the command; 32 threads, PostgreSQL 15 on the
 * same 2-core machine, which other builds kept busy; two runs each), in calls/s (a reserve and a
 * settle) with reserve latency p50 / p99 in ms:
 * <pre>
 *                          one hot counter             agent, version, team (hot) + session
 * one statement, no flush  2,744-3,237  1.3-1.4 / 40-50  2,106-2,298  1.9-2.6 / 48-53
 * one statement, flush       479-564   18-21 / 112-151   296-543   20-39 / 115-175
 * transaction, no flush      573-593   17-18 / 131-146   313-531   20-37 / 154-228
 * transaction, flush         279-350   35-48 / 210-230   184-311   38-75 / 269-336
 * </pre>
 * (The transaction rows: reserve and settle as transactions of three or four round trips, the
 * path PostgreSQL now takes only in rare races and for the sweeper; measured with the
 * one-statement paths switched off locally.)
 * What an unflushed commit risks: when the PostgreSQL server itself crashes (not a gateway), the
 * budget transactions of its last moments (up to 3 x wal_writer_delay, 600 ms by default) are
 * lost, each whole and in commit order. A lost reservation makes its settle return false, so
 * that call goes uncharged; a lost settle brings its reservation back, and the sweeper charges
 * the estimate. A budget can take that after a database crash (calls in flight overrun anyway); a
 * ledger could not, and {@link #BudgetStore(Database, Clock, boolean)} keeps the flush. SQLite
 * runs each operation as one immediate transaction: its writers queue for the database lock anyway.
 */
public final class BudgetStore {

  private static final System.Logger LOG = System.getLogger(BudgetStore.class.getName());
  private static final int SWEEP_BATCH = 500;
  /** 2^50 per call (a million dollars in nano-dollars): sums of calls stay far from overflowing. */
  private static final long MAX_AMOUNT = 1L << 50;

  /**
   * The one order of keys: by code point, which is PostgreSQL's "C" collation and SQLite's BINARY
   * one, so the database lists counters in the order reservations lock them.
   */
  static final Comparator<String> KEY_ORDER = (a, b) ->
      Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

  private final Database db;
  private final Clock clock;
  private final boolean synchronousCommit;

  /** Budget counters in {@code db}; {@code clock} dates reservation holds and expiry. */
  public BudgetStore(Database db, Clock clock) {
    this(db, clock, false);
  }

  /**
   * Budget counters whose PostgreSQL commits wait for the WAL flush ({@code synchronousCommit}
   * true: the server's setting applies) or not (false, the default; see the class comment for
   * what that risks and gains). SQLite ignores it.
   */
  public BudgetStore(Database db, Clock clock, boolean synchronousCommit) {
    this.db = db;
    this.clock = clock;
    this.synchronousCommit = synchronousCommit;
  }

  /**
   * Reserves {@code asked} on every counter, all or nothing, in one transaction: granted when, for
   * every counter, used + reserved + asked is within the limit on each limited dimension; denied,
   * changing nothing, otherwise. Counters are created on first use; each counter's limits and
   * budget name are stored as passed (a changed Budget applies from its next reservation).
   *
   * @param counters distinct keys, in any order
   * @param holdFor how long the reservation may stay unsettled before {@link #sweepExpired}
   *     settles it at its full amount
   */
  public Reservation reserve(List<BudgetCounter> counters, Amount asked, Duration holdFor) {
    if (counters.isEmpty()) {
      throw new IllegalArgumentException("reserve needs at least one budget counter; skip the reservation when no budget applies");
    }
    requireNonNegative("asked", asked);
    if (holdFor.isNegative() || holdFor.isZero()) {
      throw new IllegalArgumentException("reservation hold: expected a positive duration, got " + holdFor);
    }
    List<BudgetCounter> sorted = new ArrayList<>(counters);
    sorted.sort(Comparator.comparing(BudgetCounter::key, KEY_ORDER));
    for (int i = 1; i < sorted.size(); i++) {
      if (sorted.get(i).key().equals(sorted.get(i - 1).key())) {
        throw new IllegalArgumentException("budget counter " + sorted.get(i).key() + " is listed twice in one reservation");
      }
    }
    // A counter whose limit is below the ask can never fit, and a new row would be inserted
    // without the fit check (which only guards the update): deny without writing.
    if (sorted.stream().anyMatch(c -> !fits(c, Amount.ZERO, asked))) {
      return db.read("budget.reserve", tx -> firstWithoutRoom(tx, sorted, asked)).orElseThrow();
    }
    long now = clock.millis();
    long expiresAt = saturatedAdd(now, holdFor.toMillis());
    if (db.dialect() == Dialect.POSTGRES) {
      Optional<Reservation.Granted> granted = reserveInOneStatement(sorted, asked, expiresAt);
      if (granted.isPresent()) {
        return granted.get();
      }
      // Some counter had no room. A counter out of room now (read without locks) is a denial as
      // good as one decided under the lock, and keeps an exhausted hot counter fast; only when
      // room appeared meanwhile (or the random id was taken) does the transaction decide.
      Optional<Reservation.Denied> denied = db.read("budget.reserve", tx -> firstWithoutRoom(tx, sorted, asked));
      if (denied.isPresent()) {
        return denied.get();
      }
    }
    try {
      return db.inTransaction("budget.reserve", tx -> {
        relaxCommit(tx);
        long id = insertReservation(tx, sorted, asked, expiresAt);
        Map<String, Amount> after = addWhereItFits(tx, sorted, asked);
        if (after.size() < sorted.size()) {
          List<BudgetCounter> full = sorted.stream().filter(c -> !after.containsKey(c.key())).toList();
          // The counters that did not fit are locked by this transaction: one of them is out of room.
          throw new NoRoom(firstWithoutRoom(tx, full, asked).orElseThrow());
        }
        return new Reservation.Granted(id, keys(sorted), asked, remaining(sorted, after));
      });
    } catch (NoRoom e) {
      return e.denied;
    }
  }

  /** One reservation of {@link #reserveEach}: {@code amount} on one counter, held for {@code holdFor}. */
  public record Ask(BudgetCounter counter, Amount amount, Duration holdFor) {}

  /** At most this many asks go into one statement of {@link #reserveEach}. */
  public static final int MAX_ASKS_PER_STATEMENT = 16;

  /**
   * Reserves each ask on its own counter, each granted or denied on its own exactly as
   * {@link #reserve} would with that one counter: the reservations of many calls at the cost of
   * about one. On PostgreSQL, up to {@link #MAX_ASKS_PER_STATEMENT} of them
   * are one autocommit statement: the conditional upsert of {@link #reserve} over all their
   * counters (in key order, so it locks as every other statement here does), and a reservation
   * row for each counter that took its ask. An ask that did not fit goes to {@link #reserve},
   * which names the counter or, if room appeared meanwhile, grants it. SQLite reserves them one by
   * one: its writers queue for the one database lock anyway.
   *
   * @param asks on distinct counters, in any order
   * @return the outcome of each ask, in the order asked
   */
  public List<Reservation> reserveEach(List<Ask> asks) {
    List<Integer> order = new ArrayList<>(asks.size());
    for (int i = 0; i < asks.size(); i++) {
      Ask a = asks.get(i);
      requireNonNegative("asked", a.amount());
      if (a.holdFor().isNegative() || a.holdFor().isZero()) {
        throw new IllegalArgumentException("reservation hold: expected a positive duration, got " + a.holdFor());
      }
      order.add(i);
    }
    order.sort(Comparator.comparing(i -> asks.get(i).counter().key(), KEY_ORDER));
    for (int i = 1; i < order.size(); i++) {
      if (asks.get(order.get(i)).counter().key().equals(asks.get(order.get(i - 1)).counter().key())) {
        throw new IllegalArgumentException("budget counter " + asks.get(order.get(i)).counter().key()
            + " is asked twice in one batch of reservations");
      }
    }
    Reservation[] out = new Reservation[asks.size()];
    if (db.dialect() == Dialect.POSTGRES) {
      // An ask above its counter's limit never fits, and a new row is inserted without the fit
      // check: reserve() denies those without writing.
      List<Integer> batch = order.stream().filter(i -> fits(asks.get(i).counter(), Amount.ZERO, asks.get(i).amount()))
          .toList();
      for (int from = 0; from < batch.size(); from += MAX_ASKS_PER_STATEMENT) {
        List<Integer> part = batch.subList(from, Math.min(batch.size(), from + MAX_ASKS_PER_STATEMENT));
        if (part.size() > 1) {
          reserveEachInOneStatement(asks, part, out);
        }
      }
    }
    for (int i = 0; i < out.length; i++) {
      if (out[i] == null) {
        Ask a = asks.get(i);
        out[i] = reserve(List.of(a.counter()), a.amount(), a.holdFor());
      }
    }
    return List.of(out);
  }

  /**
   * PostgreSQL: the asks at {@code part} (indices into {@code asks}, in key order) as one
   * statement; fills {@code out} for those granted. Leaves it all to the caller when the statement
   * aborts (a random id was taken).
   */
  private void reserveEachInOneStatement(List<Ask> asks, List<Integer> part, Reservation[] out) {
    long now = clock.millis();
    long[] ids = new long[part.size()];
    StringBuilder rows = new StringBuilder();
    for (int j = 0; j < part.size(); j++) {
      ids[j] = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
      rows.append(j == 0 ? "(?::bigint, ?::varchar, ?::bigint, ?::bigint, ?::bigint)" : ", (?, ?, ?, ?, ?)");
    }
    String sql = "WITH up AS (" + addWhereItFitsSql(part.size()) + "),"
        + " res AS (INSERT INTO fd_budget_reservation (id, counters, tokens, nano, expires_at)"
        + " SELECT v.id, v.k, v.t, v.n, v.e FROM (VALUES " + rows + ") AS v (id, k, t, n, e), up"
        + " WHERE up.counter_key = v.k ON CONFLICT (id) DO NOTHING RETURNING id)"
        + " SELECT up.counter_key, up.held_tokens, up.held_nano, chk.ok FROM (SELECT 1 / CASE WHEN"
        + " (SELECT count(*) FROM res) = (SELECT count(*) FROM up) THEN 1 ELSE 0 END AS ok"
        + (synchronousCommit ? "" : ", set_config('synchronous_commit', 'off', true) AS sc")
        + ") chk LEFT JOIN up ON true";
    Optional<Map<String, Amount>> granted = unlessAborted("budget.reserve", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(sql)) {
        int p = 1;
        for (int i : part) {
          Ask a = asks.get(i);
          p = bindCounters(ps, p, List.of(a.counter()), a.amount());
        }
        for (int j = 0; j < part.size(); j++) {
          Ask a = asks.get(part.get(j));
          ps.setLong(p++, ids[j]);
          ps.setString(p++, a.counter().key());
          ps.setLong(p++, a.amount().tokens());
          ps.setLong(p++, a.amount().nanoUsd());
          ps.setLong(p++, saturatedAdd(now, a.holdFor().toMillis()));
        }
        Map<String, Amount> held = new HashMap<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            if (rs.getString(1) != null) {
              held.put(rs.getString(1), new Amount(rs.getLong(2), rs.getLong(3)));
            }
          }
        }
        return held;
      }
    });
    if (granted.isEmpty()) {
      return;
    }
    Map<String, Amount> after = granted.get();
    for (int j = 0; j < part.size(); j++) {
      Ask a = asks.get(part.get(j));
      Amount held = after.get(a.counter().key());
      if (held != null) {
        List<BudgetCounter> one = List.of(a.counter());
        out[part.get(j)] = new Reservation.Granted(ids[j], keys(one), a.amount(),
            remaining(one, Map.of(a.counter().key(), held)));
      }
    }
  }

  /**
   * Settles a granted reservation with the real usage: each counter's reserved goes down by the
   * reserved amount and its used up by {@code actual}, which may exceed the reservation (the
   * overrun is charged, never dropped).
   *
   * @return false, changing nothing, when the reservation was already settled (by a previous call
   *     or by the sweeper) or never existed
   */
  public boolean settle(long reservationId, Amount actual) {
    requireNonNegative("actual usage", actual);
    if (db.dialect() == Dialect.POSTGRES) {
      return settleInOneStatement(reservationId, null, actual);
    }
    return db.inTransaction("budget.settle", tx -> settle(tx, reservationId, reserved -> actual));
  }

  /**
   * {@link #settle(long, Amount)} for a reservation this process was granted: on PostgreSQL one
   * statement instead of two, since the grant names its counters.
   */
  public boolean settle(Reservation.Granted granted, Amount actual) {
    requireNonNegative("actual usage", actual);
    if (db.dialect() == Dialect.POSTGRES) {
      return settleInOneStatement(granted.reservationId(), granted.counters(), actual);
    }
    return db.inTransaction("budget.settle", tx -> settle(tx, granted.reservationId(), reserved -> actual));
  }

  /** One settlement of {@link #settleEach}: a reservation this process was granted, and what its call used. */
  public record Settlement(Reservation.Granted granted, Amount actual) {}

  /**
   * Settles each reservation as {@link #settle(Reservation.Granted, Amount)} would: the
   * settlements of many calls at the cost of about one. On PostgreSQL, up to
   * {@link #MAX_ASKS_PER_STATEMENT} of them are one autocommit statement that deletes their
   * reservations and changes each counter they hold once, by their sums, in key order. SQLite
   * settles them one by one.
   *
   * @param settlements of distinct reservations
   * @return for each, whether this call settled it (false: it was already settled, or never existed)
   */
  public List<Boolean> settleEach(List<Settlement> settlements) {
    Set<Long> ids = new HashSet<>();
    for (Settlement st : settlements) {
      requireNonNegative("actual usage", st.actual());
      if (!ids.add(st.granted().reservationId())) {
        throw new IllegalArgumentException("budget reservation " + st.granted().reservationId()
            + " is settled twice in one batch");
      }
    }
    Boolean[] out = new Boolean[settlements.size()];
    if (db.dialect() == Dialect.POSTGRES) {
      for (int from = 0; from < settlements.size(); from += MAX_ASKS_PER_STATEMENT) {
        List<Settlement> part = settlements.subList(from, Math.min(settlements.size(), from + MAX_ASKS_PER_STATEMENT));
        if (part.size() > 1) {
          settleEachInOneStatement(part, from, out);
        }
      }
    }
    for (int i = 0; i < out.length; i++) {
      if (out[i] == null) {
        out[i] = settle(settlements.get(i).granted(), settlements.get(i).actual());
      }
    }
    return List.of(out);
  }

  /**
   * PostgreSQL: {@code part} (at {@code from} in the caller's list) as one statement; fills
   * {@code out}. Leaves it all to the caller when the statement aborts (a counter row is missing),
   * so that each settles on its own and the one at fault is named.
   */
  private void settleEachInOneStatement(List<Settlement> part, int from, Boolean[] out) {
    // One row per (reservation, counter), in key order; counters numbered in that order, so the
    // upsert changes (and locks) them in key order, as every other statement here does.
    record Row(long id, String key, Amount actual) {}
    List<Row> rows = new ArrayList<>();
    for (Settlement st : part) {
      for (String key : st.granted().counters()) {
        rows.add(new Row(st.granted().reservationId(), key, st.actual()));
      }
    }
    rows.sort(Comparator.comparing(Row::key, KEY_ORDER));
    StringBuilder values = new StringBuilder();
    for (int i = 0; i < rows.size(); i++) {
      values.append(i == 0 ? "(?::bigint, ?::varchar, ?::bigint, ?::bigint, ?::int)" : ", (?, ?, ?, ?, ?)");
    }
    String sql = "WITH v (id, k, t, n, o) AS (VALUES " + values + "),"
        + " r AS (DELETE FROM fd_budget_reservation WHERE id IN (SELECT id FROM v) RETURNING id, tokens, nano),"
        + " u AS (INSERT INTO fd_budget_counter (counter_key, budget, limit_tokens, limit_nano, used_tokens, used_nano,"
        + " reserved_tokens, reserved_nano, held, expires_at)"
        + " SELECT v.k, '', -1, -1, sum(v.t)::bigint, sum(v.n)::bigint, sum(r.tokens)::bigint, sum(r.nano)::bigint,"
        + " count(*), 0 FROM v JOIN r ON r.id = v.id GROUP BY v.k ORDER BY min(v.o)"
        + " ON CONFLICT (counter_key) DO UPDATE SET"
        + " reserved_tokens = fd_budget_counter.reserved_tokens - excluded.reserved_tokens,"
        + " reserved_nano = fd_budget_counter.reserved_nano - excluded.reserved_nano,"
        + " used_tokens = fd_budget_counter.used_tokens + excluded.used_tokens,"
        + " used_nano = fd_budget_counter.used_nano + excluded.used_nano,"
        + " held = fd_budget_counter.held - excluded.held"
        + " RETURNING xmax = 0 AS inserted)"
        + " SELECT r.id, chk.ok FROM (SELECT 1 / CASE WHEN EXISTS (SELECT 1 FROM u WHERE inserted) THEN 0 ELSE 1 END"
        + " AS ok" + (synchronousCommit ? "" : ", set_config('synchronous_commit', 'off', true) AS sc")
        + ") chk LEFT JOIN r ON true";
    Optional<Set<Long>> done = unlessAborted("budget.settle", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(sql)) {
        int p = 1;
        for (int i = 0; i < rows.size(); i++) {
          Row row = rows.get(i);
          ps.setLong(p++, row.id());
          ps.setString(p++, row.key());
          ps.setLong(p++, row.actual().tokens());
          ps.setLong(p++, row.actual().nanoUsd());
          ps.setInt(p++, i);
        }
        Set<Long> ids = new HashSet<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            long id = rs.getLong(1);
            if (!rs.wasNull()) {
              ids.add(id);
            }
          }
        }
        return ids;
      }
    });
    for (int i = 0; i < part.size() && done.isPresent(); i++) {
      out[from + i] = done.get().contains(part.get(i).granted().reservationId());
    }
  }

  /**
   * Settles every reservation whose hold expired at its full reserved amount (the call may have
   * spent it); returns how many this call settled. Safe to run on several processes at once:
   * each reservation is settled by whichever gets it first.
   */
  public int sweepExpired() {
    long now = clock.millis();
    int settled = 0;
    List<Long> batch;
    do {
      batch = db.read("budget.sweep", tx -> {
        try (PreparedStatement ps = tx.connection().prepareStatement(
            "SELECT id FROM fd_budget_reservation WHERE expires_at <= ? ORDER BY expires_at, id LIMIT " + SWEEP_BATCH)) {
          ps.setLong(1, now);
          List<Long> ids = new ArrayList<>();
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              ids.add(rs.getLong(1));
            }
          }
          return ids;
        }
      });
      // One transaction per reservation: each locks its counters in key order, as reserve does.
      // One that cannot be settled (its counter was deleted by hand) must not hold up the rest.
      int failed = 0;
      for (long id : batch) {
        try {
          if (db.inTransaction("budget.sweep", tx -> {
            relaxCommit(tx);
            return settle(tx, id, UnaryOperator.identity());
          })) {
            settled++;
          }
        } catch (StoreException e) {
          failed++;
          LOG.log(System.Logger.Level.WARNING, "budgets: cannot settle expired reservation {0}: {1}", id, e.getMessage());
        }
      }
      if (failed == batch.size()) {
        break;
      }
    } while (batch.size() == SWEEP_BATCH);
    if (settled > 0) {
      LOG.log(System.Logger.Level.INFO, "budgets: settled {0} reservation(s) whose hold expired at their full amount"
          + " (a gateway stopped before settling, or holds are shorter than calls)", settled);
    }
    return settled;
  }

  /**
   * Deletes counters whose expiry passed (e.g. yesterday's daily counters) and that hold no live
   * reservation; returns how many.
   */
  public int deleteExpiredCounters() {
    long now = clock.millis();
    int deleted = 0;
    List<String> batch;
    do {
      batch = db.read("budget.expire", tx -> {
        try (PreparedStatement ps = tx.connection().prepareStatement(
            "SELECT counter_key FROM fd_budget_counter WHERE expires_at <= ? AND held = 0 LIMIT " + SWEEP_BATCH)) {
          ps.setLong(1, now);
          List<String> keys = new ArrayList<>();
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              keys.add(rs.getString(1));
            }
          }
          return keys;
        }
      });
      // Deleted in key order, as reservations lock counters: a reservation arriving on counters
      // that just expired cannot deadlock with the deletion. The condition is checked again under
      // the lock, so a counter that took a reservation meanwhile stays.
      List<String> keys = batch.stream().sorted(KEY_ORDER).toList();
      if (keys.isEmpty()) {
        break;
      }
      deleted += db.inTransaction("budget.expire", tx -> {
        try (PreparedStatement ps = tx.connection().prepareStatement(
            "DELETE FROM fd_budget_counter WHERE counter_key = ? AND expires_at <= ? AND held = 0")) {
          for (String key : keys) {
            ps.setString(1, key);
            ps.setLong(2, now);
            ps.addBatch();
          }
          return Arrays.stream(ps.executeBatch()).sum();
        }
      });
    } while (batch.size() == SWEEP_BATCH);
    return deleted;
  }

  /** The current state of a counter, or empty when it was never charged (or was deleted). */
  public Optional<CounterState> counter(String key) {
    return db.read("budget.counter", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "SELECT " + STATE_COLUMNS + " FROM fd_budget_counter WHERE counter_key = ?")) {
        ps.setString(1, key);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(state(rs)) : Optional.<CounterState>empty();
        }
      }
    });
  }

  /** Counters whose key starts with {@code keyPrefix}, in key order, at most {@code limit}. */
  public List<CounterState> counters(String keyPrefix, int limit) {
    return counters(keyPrefix, null, limit);
  }

  /**
   * Counters whose key starts with {@code keyPrefix} and comes after {@code after} (null: from the
   * first), in key order (by code point on both dialects), at most {@code limit}: a page of a
   * listing, the next one after the last key of this one.
   */
  public List<CounterState> counters(String keyPrefix, String after, int limit) {
    if (limit < 0) {
      throw new IllegalArgumentException("counter listing limit: expected 0 or more, got " + limit);
    }
    return db.read("budget.counters", tx -> {
      // substr, not LIKE: exact for any characters (no escaping, no case folding in SQLite).
      String key = tx.dialect() == Dialect.POSTGRES ? "counter_key COLLATE \"C\"" : "counter_key";
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "SELECT " + STATE_COLUMNS + " FROM fd_budget_counter WHERE substr(counter_key, 1, ?) = ?"
              + (after == null ? "" : " AND " + key + " > ?") + " ORDER BY " + key + " LIMIT ?")) {
        int i = 1;
        ps.setInt(i++, keyPrefix.codePointCount(0, keyPrefix.length()));
        ps.setString(i++, keyPrefix);
        if (after != null) {
          ps.setString(i++, after);
        }
        ps.setInt(i, limit);
        List<CounterState> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(state(rs));
          }
        }
        return out;
      }
    });
  }

  private static final String STATE_COLUMNS =
      "counter_key, budget, used_tokens, used_nano, reserved_tokens, reserved_nano, limit_tokens, limit_nano";

  private static CounterState state(ResultSet rs) throws SQLException {
    return new CounterState(rs.getString(1), rs.getString(2), new Amount(rs.getLong(3), rs.getLong(4)),
        new Amount(rs.getLong(5), rs.getLong(6)), rs.getLong(7), rs.getLong(8));
  }

  /** Inserts the reservation under a fresh random id (drawing again on the rare collision). */
  private static long insertReservation(Tx tx, List<BudgetCounter> sorted, Amount asked, long expiresAt)
      throws SQLException {
    String keys = joinKeys(sorted);
    try (PreparedStatement ps = tx.connection().prepareStatement(
        "INSERT INTO fd_budget_reservation (id, counters, tokens, nano, expires_at) VALUES (?, ?, ?, ?, ?)"
            + " ON CONFLICT (id) DO NOTHING")) {
      while (true) {
        long id = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        ps.setLong(1, id);
        ps.setString(2, keys);
        ps.setLong(3, asked.tokens());
        ps.setLong(4, asked.nanoUsd());
        ps.setLong(5, expiresAt);
        if (ps.executeUpdate() == 1) {
          return id;
        }
      }
    }
  }

  /**
   * Adds {@code asked} to the reserved amount of every counter it fits on, creating missing
   * counters, in one statement whose rows are written in key order; returns used + reserved
   * after the change of each counter that took it.
   */
  private static Map<String, Amount> addWhereItFits(Tx tx, List<BudgetCounter> sorted, Amount asked)
      throws SQLException {
    try (PreparedStatement ps = tx.connection().prepareStatement(addWhereItFitsSql(sorted.size()))) {
      bindCounters(ps, 1, sorted, asked);
      Map<String, Amount> after = new HashMap<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          after.put(rs.getString(1), new Amount(rs.getLong(2), rs.getLong(3)));
        }
      }
      return after;
    }
  }

  /**
   * The upsert that adds the ask to {@code n} counters where it fits; it returns each changed
   * counter's key, used + reserved tokens and used + reserved nano-dollars.
   */
  private static String addWhereItFitsSql(int n) {
    StringBuilder sql = new StringBuilder("INSERT INTO fd_budget_counter (counter_key, budget, limit_tokens, limit_nano,"
        + " used_tokens, used_nano, reserved_tokens, reserved_nano, held, expires_at) VALUES ");
    for (int i = 0; i < n; i++) {
      sql.append(i == 0 ? "" : ", ").append("(?, ?, ?, ?, 0, 0, ?, ?, 1, ?)");
    }
    return sql.append(" ON CONFLICT (counter_key) DO UPDATE SET budget = excluded.budget,"
        + " limit_tokens = excluded.limit_tokens, limit_nano = excluded.limit_nano,"
        + " reserved_tokens = fd_budget_counter.reserved_tokens + excluded.reserved_tokens,"
        + " reserved_nano = fd_budget_counter.reserved_nano + excluded.reserved_nano,"
        + " held = fd_budget_counter.held + 1,"
        + " expires_at = CASE WHEN excluded.expires_at > fd_budget_counter.expires_at"
        + " THEN excluded.expires_at ELSE fd_budget_counter.expires_at END"
        + " WHERE (excluded.limit_tokens < 0 OR fd_budget_counter.used_tokens + fd_budget_counter.reserved_tokens"
        + " + excluded.reserved_tokens <= excluded.limit_tokens)"
        + " AND (excluded.limit_nano < 0 OR fd_budget_counter.used_nano + fd_budget_counter.reserved_nano"
        + " + excluded.reserved_nano <= excluded.limit_nano)"
        + " RETURNING counter_key, used_tokens + reserved_tokens AS held_tokens, used_nano + reserved_nano AS held_nano")
        .toString();
  }

  private static int bindCounters(PreparedStatement ps, int first, List<BudgetCounter> sorted, Amount asked)
      throws SQLException {
    int p = first;
    for (BudgetCounter c : sorted) {
      ps.setString(p++, c.key());
      ps.setString(p++, c.budget());
      ps.setLong(p++, c.limitTokens());
      ps.setLong(p++, c.limitNanoUsd());
      ps.setLong(p++, asked.tokens());
      ps.setLong(p++, asked.nanoUsd());
      ps.setLong(p++, c.expiresAtMillis());
    }
    return p;
  }

  /**
   * PostgreSQL: the whole reservation as one autocommit statement, so the hot counter's row lock
   * is held for the statement and its commit only, never across a round trip to this process.
   * When a counter lacks room (or the random id is taken), dividing by zero aborts the statement,
   * which undoes it all; the transaction in {@link #reserve} then decides, and names the counter.
   */
  private Optional<Reservation.Granted> reserveInOneStatement(List<BudgetCounter> sorted, Amount asked, long expiresAt) {
    long id = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
    String sql = "WITH res AS (INSERT INTO fd_budget_reservation (id, counters, tokens, nano, expires_at)"
        + " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id),"
        + " up AS (" + addWhereItFitsSql(sorted.size()) + ")"
        + " SELECT up.counter_key, up.held_tokens, up.held_nano, chk.ok FROM (SELECT 1 / CASE WHEN"
        + " (SELECT count(*) FROM res) = 1 AND (SELECT count(*) FROM up) = " + sorted.size()
        + " THEN 1 ELSE 0 END AS ok" + (synchronousCommit ? "" : ", set_config('synchronous_commit', 'off', true) AS sc")
        + ") chk LEFT JOIN up ON true";
    return unlessAborted("budget.reserve", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(sql)) {
        ps.setLong(1, id);
        ps.setString(2, joinKeys(sorted));
        ps.setLong(3, asked.tokens());
        ps.setLong(4, asked.nanoUsd());
        ps.setLong(5, expiresAt);
        bindCounters(ps, 6, sorted, asked);
        Map<String, Amount> after = new HashMap<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            after.put(rs.getString(1), new Amount(rs.getLong(2), rs.getLong(3)));
          }
        }
        return new Reservation.Granted(id, keys(sorted), asked, remaining(sorted, after));
      }
    });
  }

  private static final String DIVISION_BY_ZERO = "22012";

  /**
   * PostgreSQL: runs {@code work} in autocommit mode; empty when its statement aborted itself by
   * dividing by zero (how the one-statement paths here undo everything and hand over to a slower
   * path that decides and explains).
   */
  private <T> Optional<T> unlessAborted(String operation, Database.TxWork<T> work) {
    try {
      return Optional.of(db.autocommit(operation, work));
    } catch (StoreException e) {
      if (e.getCause() instanceof SQLException sql && DIVISION_BY_ZERO.equals(sql.getSQLState())) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /**
   * PostgreSQL: settling as one autocommit statement, after reading which counters the
   * reservation holds unless the caller knows them ({@code known}; a reservation never changes, so
   * that read needs no lock). The counters are
   * changed by an upsert over their keys in key order, as reserving does: each row is found
   * through the primary key and locked in that order, whatever plan the server picks. Their rows
   * exist (held stays above zero until this statement), so the upsert never inserts; if it did,
   * the statement aborts and the transaction in {@link #settle(Tx, long, UnaryOperator)} reports it.
   */
  private boolean settleInOneStatement(long id, List<String> known, Amount actual) {
    Optional<String> keys = known != null ? Optional.of(String.join("\n", known)) : db.read("budget.settle", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "SELECT counters FROM fd_budget_reservation WHERE id = ?")) {
        ps.setLong(1, id);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(rs.getString(1)) : Optional.<String>empty();
        }
      }
    });
    if (keys.isEmpty()) {
      return false;
    }
    String[] counters = keys.get().split("\n");
    StringBuilder values = new StringBuilder();
    for (int i = 0; i < counters.length; i++) {
      values.append(i == 0 ? "(?::varchar, 0)" : ", (?, " + i + ")");
    }
    String sql = "WITH r AS (DELETE FROM fd_budget_reservation WHERE id = ? RETURNING tokens, nano),"
        + " u AS (INSERT INTO fd_budget_counter (counter_key, budget, limit_tokens, limit_nano, used_tokens, used_nano,"
        + " reserved_tokens, reserved_nano, held, expires_at)"
        + " SELECT v.k, '', -1, -1, ?::bigint, ?::bigint, r.tokens, r.nano, 0, 0 FROM (VALUES " + values + ") AS v (k, o)"
        + " CROSS JOIN r ORDER BY v.o"
        + " ON CONFLICT (counter_key) DO UPDATE SET"
        + " reserved_tokens = fd_budget_counter.reserved_tokens - excluded.reserved_tokens,"
        + " reserved_nano = fd_budget_counter.reserved_nano - excluded.reserved_nano,"
        + " used_tokens = fd_budget_counter.used_tokens + excluded.used_tokens,"
        + " used_nano = fd_budget_counter.used_nano + excluded.used_nano, held = fd_budget_counter.held - 1"
        + " RETURNING xmax = 0 AS inserted)"
        + " SELECT (SELECT count(*) FROM r), 1 / CASE WHEN EXISTS (SELECT 1 FROM u WHERE inserted) THEN 0 ELSE 1 END"
        + (synchronousCommit ? "" : ", set_config('synchronous_commit', 'off', true)");
    return unlessAborted("budget.settle", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(sql)) {
        ps.setLong(1, id);
        ps.setLong(2, actual.tokens());
        ps.setLong(3, actual.nanoUsd());
        for (int i = 0; i < counters.length; i++) {
          ps.setString(4 + i, counters[i]);
        }
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getLong(1) == 1;
        }
      }
    }).orElseGet(() -> db.inTransaction("budget.settle", tx -> settle(tx, id, reserved -> actual)));
  }

  /** PostgreSQL: this transaction's commit does not wait for the flush (see the class comment). */
  private void relaxCommit(Tx tx) throws SQLException {
    if (!synchronousCommit && tx.dialect() == Dialect.POSTGRES) {
      try (var st = tx.connection().createStatement()) {
        st.execute("SET LOCAL synchronous_commit TO OFF");
      }
    }
  }

  private static List<String> keys(List<BudgetCounter> sorted) {
    return sorted.stream().map(BudgetCounter::key).toList();
  }

  private static String joinKeys(List<BudgetCounter> sorted) {
    StringBuilder keys = new StringBuilder();
    for (BudgetCounter c : sorted) {
      keys.append(keys.isEmpty() ? "" : "\n").append(c.key());
    }
    return keys.toString();
  }

  /** The first of {@code candidates} (in key order) where {@code asked} does not fit now, if any. */
  private static Optional<Reservation.Denied> firstWithoutRoom(Tx tx, List<BudgetCounter> candidates, Amount asked)
      throws SQLException {
    try (PreparedStatement ps = tx.connection().prepareStatement(
        "SELECT used_tokens + reserved_tokens, used_nano + reserved_nano FROM fd_budget_counter WHERE counter_key = ?")) {
      for (BudgetCounter c : candidates) {
        ps.setString(1, c.key());
        Amount usedAndReserved = Amount.ZERO;
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            usedAndReserved = new Amount(rs.getLong(1), rs.getLong(2));
          }
        }
        if (!fits(c, usedAndReserved, asked)) {
          return Optional.of(new Reservation.Denied(c, usedAndReserved, asked));
        }
      }
    }
    return Optional.empty();
  }

  /**
   * Deletes the reservation and moves its amount from reserved to used on each of its counters,
   * charging {@code actualFor.apply(reserved)}; false when it was already settled.
   */
  private static boolean settle(Tx tx, long id, UnaryOperator<Amount> actualFor) throws SQLException {
    String keys;
    Amount reserved;
    try (PreparedStatement ps = tx.connection().prepareStatement(
        "DELETE FROM fd_budget_reservation WHERE id = ? RETURNING counters, tokens, nano")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return false;
        }
        keys = rs.getString(1);
        reserved = new Amount(rs.getLong(2), rs.getLong(3));
      }
    }
    Amount actual = actualFor.apply(reserved);
    String[] counters = keys.split("\n");
    try (PreparedStatement ps = tx.connection().prepareStatement(
        "UPDATE fd_budget_counter SET reserved_tokens = reserved_tokens - ?, reserved_nano = reserved_nano - ?,"
            + " used_tokens = used_tokens + ?, used_nano = used_nano + ?, held = held - 1 WHERE counter_key = ?")) {
      for (String key : counters) {
        ps.setLong(1, reserved.tokens());
        ps.setLong(2, reserved.nanoUsd());
        ps.setLong(3, actual.tokens());
        ps.setLong(4, actual.nanoUsd());
        ps.setString(5, key);
        ps.addBatch();
      }
      int[] counts = ps.executeBatch();
      for (int i = 0; i < counts.length; i++) {
        if (counts[i] == 0) {
          throw new StoreException("budget reservation " + id + " holds counter " + counters[i]
              + ", which does not exist: the budget tables were changed outside Flightdeck", null);
        }
      }
    }
    return true;
  }

  private static boolean fits(BudgetCounter c, Amount usedAndReserved, Amount asked) {
    return (c.limitTokens() < 0 || usedAndReserved.tokens() + asked.tokens() <= c.limitTokens())
        && (c.limitNanoUsd() < 0 || usedAndReserved.nanoUsd() + asked.nanoUsd() <= c.limitNanoUsd());
  }

  /** The smallest allowance left per dimension over the limited counters; -1 where none is limited. */
  private static Amount remaining(List<BudgetCounter> sorted, Map<String, Amount> after) {
    long tokens = -1;
    long nano = -1;
    for (BudgetCounter c : sorted) {
      Amount a = after.get(c.key());
      if (c.limitTokens() >= 0) {
        long left = c.limitTokens() - a.tokens();
        tokens = tokens < 0 ? left : Math.min(tokens, left);
      }
      if (c.limitNanoUsd() >= 0) {
        long left = c.limitNanoUsd() - a.nanoUsd();
        nano = nano < 0 ? left : Math.min(nano, left);
      }
    }
    return new Amount(tokens, nano);
  }

  private static void requireNonNegative(String what, Amount a) {
    if (a.tokens() < 0 || a.nanoUsd() < 0 || a.tokens() > MAX_AMOUNT || a.nanoUsd() > MAX_AMOUNT) {
      throw new IllegalArgumentException(what + ": expected tokens and cost from 0 to " + MAX_AMOUNT + ", got " + a);
    }
  }

  private static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return ((a ^ sum) & (b ^ sum)) < 0 ? Long.MAX_VALUE : sum;
  }

  /** Rolls the reserving transaction back, carrying the denial out. */
  private static final class NoRoom extends RuntimeException {
    private final transient Reservation.Denied denied;

    NoRoom(Reservation.Denied denied) {
      super(null, null, false, false);
      this.denied = denied;
    }
  }
}

package dev.flightdeck.store.audit;

import dev.flightdeck.api.FlightdeckException;
import dev.flightdeck.api.audit.AuditChain;
import dev.flightdeck.api.audit.AuditEntry;
import dev.flightdeck.api.audit.AuditEvent;
import dev.flightdeck.api.audit.AuditExport;
import dev.flightdeck.api.audit.AuditVerifier;
import dev.flightdeck.api.audit.Checkpoint;
import dev.flightdeck.api.audit.VerifyReport;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.Dialect;
import dev.flightdeck.store.StoreException;
import dev.flightdeck.store.Tx;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.PublicKey;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The tamper-evident audit log: every entry commits to the one before it (see {@link AuditChain}),
 * and the head is signed periodically (a checkpoint every {@value #CHECKPOINT_EVERY} entries or
 * {@link #CHECKPOINT_INTERVAL}, and on close).
 *
 * <p>Two ways in. {@link #append(Tx, List)} writes inside the caller's transaction, so a resource
 * change and its entry commit together. {@link #append(AuditEvent)} is for high-rate callers:
 * one appender thread drains a queue, chains the whole batch in memory and writes it in one
 * transaction (group commit), then wakes every caller. Both lock the single head row for the
 * length of their transaction, so appends from any number of threads and processes sharing one
 * PostgreSQL chain in a single order. The head is re-read under the lock every time: nothing
 * about the chain is trusted from memory.
 */
public final class AuditLog implements AutoCloseable {

  /** Entries between automatic checkpoints. */
  public static final int CHECKPOINT_EVERY = 10_000;
  /** Longest time between automatic checkpoints while entries are being added. */
  public static final Duration CHECKPOINT_INTERVAL = Duration.ofSeconds(60);
  private static final int MAX_BATCH = 4096;
  private static final int ROWS_PER_INSERT = 200;
  /** Largest batch written as one statement on PostgreSQL (10 parameters a row, under its 32,767). */
  private static final int ROWS_PER_STATEMENT = 1000;
  private static final System.Logger LOG = System.getLogger(AuditLog.class.getName());

  private record Pending(AuditEvent event, CompletableFuture<Long> done) {}

  private record Head(long seq, String hash) {}

  private final Database db;
  private final SigningKey key;
  private final Clock clock;
  private final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
  private final Thread appender;
  private volatile boolean closing;
  private volatile long lastCheckpointMillis;
  /** The head as the appender thread last wrote it; only a hint, checked by compare-and-set. */
  private Head cachedHead;

  private AuditLog(Database db, SigningKey key, Clock clock) {
    this.db = db;
    this.key = key;
    this.clock = clock;
    registerKey();
    this.lastCheckpointMillis = clock.millis();
    this.appender = Thread.ofPlatform().daemon().name("flightdeck-audit-appender").start(this::appendLoop);
  }

  /** An audit log whose checkpoints are signed with the key in {@code keyFile} (created on first use). */
  public static AuditLog open(Database db, Path keyFile) {
    return new AuditLog(db, SigningKey.loadOrCreate(keyFile), Clock.systemUTC());
  }

  /** An audit log with a signing key that lives only in this process (tests, tools). */
  public AuditLog(Database db) {
    this(db, SigningKey.ephemeral(), Clock.systemUTC());
  }

  /** Appends events inside the caller's transaction: they commit or roll back with it. */
  public void append(Tx tx, List<AuditEvent> events) throws SQLException {
    if (!events.isEmpty()) {
      appendLocked(tx, events);
    }
  }

  /**
   * Appends one event durably, batched with other concurrent callers; blocks until it is
   * committed and returns its sequence number.
   */
  public long append(AuditEvent event) {
    if (closing) {
      throw new FlightdeckException("the audit log is closed");
    }
    CompletableFuture<Long> done = new CompletableFuture<>();
    queue.add(new Pending(event, done));
    try {
      return done.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FlightdeckException("interrupted while waiting for the audit entry to commit", e);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new StoreException("audit append failed", e.getCause());
    }
  }

  /** Signs the current head now, unless it is already covered; returns the newest checkpoint. */
  public Optional<Checkpoint> checkpoint() {
    Optional<Checkpoint> c = db.inTransaction("audit checkpoint", tx -> {
      Head head = lockHead(tx);
      if (head.seq() == 0) {
        return Optional.<Checkpoint>empty();
      }
      return Optional.of(checkpointLocked(tx, head));
    });
    lastCheckpointMillis = clock.millis();
    return c;
  }

  /** Recomputes the whole chain from the database and checks every checkpoint. */
  public VerifyReport verify() {
    return db.read("audit verify", tx -> {
      AuditVerifier verifier = AuditVerifier.create(checkpoints(tx), keys(tx), Optional.empty());
      streamEntries(tx, 0, Long.MAX_VALUE, verifier::accept);
      return verifier.finish();
    });
  }

  /** Writes the whole log as an export file that {@link AuditExport#verify} checks offline. */
  public void export(OutputStream out) throws IOException {
    try {
      db.read("audit export", tx -> {
        try (AuditExport.Writer w = new AuditExport.Writer(out, keys(tx))) {
          for (Checkpoint c : checkpoints(tx)) {
            w.checkpoint(c);
          }
          streamEntries(tx, 0, Long.MAX_VALUE, e -> {
            try {
              w.entry(e);
              return true;
            } catch (IOException ex) {
              throw new UncheckedIOException(ex);
            }
          });
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        return null;
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  /** Up to {@code limit} entries after {@code afterSeq}, in order. */
  public List<AuditEntry> list(long afterSeq, int limit) {
    return db.read("audit list", tx -> {
      List<AuditEntry> out = new ArrayList<>();
      streamEntries(tx, afterSeq, Math.max(1, Math.min(limit, 10_000)), out::add);
      return out;
    });
  }

  /** This server's checkpoint signing key (to pin it when verifying exports offline). */
  public PublicKey publicKey() {
    return key.publicKey();
  }

  /** Waits for queued appends, signs a last checkpoint and stops the appender thread. */
  @Override
  public void close() {
    if (closing) {
      return;
    }
    closing = true;
    appender.interrupt();
    try {
      appender.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      checkpoint();
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "could not sign the closing audit checkpoint: " + e.getMessage());
    }
  }

  private void appendLoop() {
    List<Pending> batch = new ArrayList<>(MAX_BATCH);
    while (true) {
      try {
        Pending first = queue.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
          if (closing && queue.isEmpty()) {
            return;
          }
          maybeTimedCheckpoint();
          continue;
        }
        batch.add(first);
      } catch (InterruptedException e) {
        if (queue.isEmpty()) {
          return; // closing; nothing left to write
        }
      }
      queue.drainTo(batch, MAX_BATCH - batch.size());
      List<AuditEvent> events = batch.stream().map(Pending::event).toList();
      try {
        long first = appendBatch(events);
        for (int i = 0; i < batch.size(); i++) {
          batch.get(i).done().complete(first + i);
        }
      } catch (RuntimeException e) {
        batch.forEach(p -> p.done().completeExceptionally(e));
      }
      batch.clear();
    }
  }

  /**
   * Writes one batch from the appender thread. On PostgreSQL a batch is one autocommit statement
   * that moves the head only if it is still where this thread last left it (compare-and-set) and
   * inserts the chained entries in the same statement: one round trip per batch instead of four.
   * If anyone else moved the head (an in-transaction append, another server), nothing is written
   * and the batch is chained again from the head re-read from the database.
   */
  private long appendBatch(List<AuditEvent> events) {
    if (db.dialect() != Dialect.POSTGRES || events.size() > ROWS_PER_STATEMENT) {
      cachedHead = null;
      return db.inTransaction("audit append", tx -> appendLocked(tx, events));
    }
    while (true) {
      Head head = cachedHead != null ? cachedHead : db.read("audit head", AuditLog::readHead);
      List<AuditEntry> entries = chain(head, events);
      int inserted = db.autocommit("audit append", tx -> casInsert(tx, head, entries));
      if (inserted == entries.size()) {
        AuditEntry last = entries.get(entries.size() - 1);
        cachedHead = new Head(last.seq(), last.hash());
        if (last.seq() / CHECKPOINT_EVERY > head.seq() / CHECKPOINT_EVERY) {
          checkpoint();
        }
        return head.seq() + 1;
      }
      cachedHead = null;
    }
  }

  private static int casInsert(Tx tx, Head expected, List<AuditEntry> entries) throws SQLException {
    AuditEntry last = entries.get(entries.size() - 1);
    StringBuilder sql = new StringBuilder("WITH moved AS (UPDATE fd_audit_head SET seq = ?, hash = ?"
        + " WHERE id = 1 AND seq = ? AND hash = ? RETURNING id)"
        + " INSERT INTO fd_audit_entry (seq, at_millis, principal, action, resource, before_digest, after_digest,"
        + " details, prev_hash, hash) SELECT * FROM (VALUES ");
    for (int i = 0; i < entries.size(); i++) {
      sql.append(i == 0 ? "(?::bigint,?::bigint,?::varchar,?::varchar,?::varchar,?::varchar,?::varchar,?::text,?::char(64),?::char(64))"
          : ",(?,?,?,?,?,?,?,?,?,?)");
    }
    sql.append(") AS v WHERE EXISTS (SELECT 1 FROM moved)");
    try (PreparedStatement ps = tx.connection().prepareStatement(sql.toString())) {
      ps.setLong(1, last.seq());
      ps.setString(2, last.hash());
      ps.setLong(3, expected.seq());
      ps.setString(4, expected.hash());
      bindEntries(ps, 5, entries);
      return ps.executeUpdate();
    }
  }

  private List<AuditEntry> chain(Head head, List<AuditEvent> events) {
    Instant now = Instant.ofEpochMilli(clock.millis());
    long seq = head.seq();
    String prev = head.hash();
    List<AuditEntry> entries = new ArrayList<>(events.size());
    for (AuditEvent e : events) {
      seq++;
      String hash = AuditChain.hash(prev, seq, now, e);
      entries.add(new AuditEntry(seq, now, e, prev, hash));
      prev = hash;
    }
    return entries;
  }

  private void maybeTimedCheckpoint() {
    if (clock.millis() - lastCheckpointMillis < CHECKPOINT_INTERVAL.toMillis()) {
      return;
    }
    try {
      checkpoint();
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "audit checkpoint failed: " + e.getMessage());
      lastCheckpointMillis = clock.millis();
    }
  }

  /** Chains and writes {@code events} after the locked head; returns the first sequence number. */
  private long appendLocked(Tx tx, List<AuditEvent> events) throws SQLException {
    Head head = lockHead(tx);
    List<AuditEntry> entries = chain(head, events);
    long seq = entries.get(entries.size() - 1).seq();
    String prev = entries.get(entries.size() - 1).hash();
    insert(tx, entries);
    try (PreparedStatement ps = tx.connection().prepareStatement("UPDATE fd_audit_head SET seq = ?, hash = ? WHERE id = 1")) {
      ps.setLong(1, seq);
      ps.setString(2, prev);
      ps.executeUpdate();
    }
    if (seq / CHECKPOINT_EVERY > head.seq() / CHECKPOINT_EVERY) {
      checkpointLocked(tx, new Head(seq, prev));
    }
    return head.seq() + 1;
  }

  private static void insert(Tx tx, List<AuditEntry> entries) throws SQLException {
    for (int from = 0; from < entries.size(); from += ROWS_PER_INSERT) {
      List<AuditEntry> chunk = entries.subList(from, Math.min(entries.size(), from + ROWS_PER_INSERT));
      StringBuilder sql = new StringBuilder("INSERT INTO fd_audit_entry (seq, at_millis, principal, action, resource,"
          + " before_digest, after_digest, details, prev_hash, hash) VALUES ");
      for (int i = 0; i < chunk.size(); i++) {
        sql.append(i == 0 ? "" : ",").append("(?,?,?,?,?,?,?,?,?,?)");
      }
      try (PreparedStatement ps = tx.connection().prepareStatement(sql.toString())) {
        bindEntries(ps, 1, chunk);
        ps.executeUpdate();
      }
    }
  }

  private static void bindEntries(PreparedStatement ps, int first, List<AuditEntry> entries) throws SQLException {
    int p = first;
    for (AuditEntry e : entries) {
      AuditEvent ev = e.event();
      ps.setLong(p++, e.seq());
      ps.setLong(p++, e.time().toEpochMilli());
      ps.setString(p++, ev.principal());
      ps.setString(p++, ev.action());
      ps.setString(p++, ev.resource());
      ps.setString(p++, ev.before().orElse(null));
      ps.setString(p++, ev.after().orElse(null));
      ps.setString(p++, ev.details());
      ps.setString(p++, e.prevHash());
      ps.setString(p++, e.hash());
    }
  }

  private static Head readHead(Tx tx) throws SQLException {
    try (var st = tx.connection().createStatement();
         ResultSet rs = st.executeQuery("SELECT seq, hash FROM fd_audit_head WHERE id = 1")) {
      rs.next();
      return new Head(rs.getLong(1), rs.getString(2));
    }
  }

  private Checkpoint checkpointLocked(Tx tx, Head head) throws SQLException {
    try (PreparedStatement ps = tx.connection().prepareStatement(
        "SELECT seq, hash, at_millis, key_id, signature FROM fd_audit_checkpoint WHERE seq = ?")) {
      ps.setLong(1, head.seq());
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          return checkpointRow(rs);
        }
      }
    }
    Instant at = Instant.ofEpochMilli(clock.millis());
    Checkpoint c = new Checkpoint(head.seq(), head.hash(), at, key.keyId(),
        key.sign(AuditChain.checkpointMessage(head.seq(), head.hash(), at)));
    try (PreparedStatement ps = tx.connection().prepareStatement(
        "INSERT INTO fd_audit_checkpoint (seq, hash, at_millis, key_id, signature) VALUES (?, ?, ?, ?, ?)")) {
      ps.setLong(1, c.seq());
      ps.setString(2, c.hash());
      ps.setLong(3, at.toEpochMilli());
      ps.setString(4, c.keyId());
      ps.setString(5, c.signature());
      ps.executeUpdate();
    }
    return c;
  }

  private static Head lockHead(Tx tx) throws SQLException {
    String sql = "SELECT seq, hash FROM fd_audit_head WHERE id = 1" + (tx.dialect() == Dialect.POSTGRES ? " FOR UPDATE" : "");
    try (var st = tx.connection().createStatement(); ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return new Head(rs.getLong(1), rs.getString(2));
    }
  }

  private void registerKey() {
    db.inTransaction("audit key", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement("SELECT 1 FROM fd_audit_key WHERE key_id = ?")) {
        ps.setString(1, key.keyId());
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            return null;
          }
        }
      }
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "INSERT INTO fd_audit_key (key_id, public_key, created_at) VALUES (?, ?, ?)")) {
        ps.setString(1, key.keyId());
        ps.setString(2, java.util.Base64.getEncoder().encodeToString(key.publicKey().getEncoded()));
        ps.setString(3, clock.instant().toString());
        ps.executeUpdate();
      }
      return null;
    });
  }

  private static Map<String, PublicKey> keys(Tx tx) throws SQLException {
    Map<String, PublicKey> keys = new HashMap<>();
    try (var st = tx.connection().createStatement();
         ResultSet rs = st.executeQuery("SELECT key_id, public_key FROM fd_audit_key")) {
      while (rs.next()) {
        keys.put(rs.getString(1), AuditExport.publicKey(rs.getString(2)));
      }
    }
    return keys;
  }

  private static List<Checkpoint> checkpoints(Tx tx) throws SQLException {
    List<Checkpoint> out = new ArrayList<>();
    try (var st = tx.connection().createStatement();
         ResultSet rs = st.executeQuery("SELECT seq, hash, at_millis, key_id, signature FROM fd_audit_checkpoint ORDER BY seq")) {
      while (rs.next()) {
        out.add(checkpointRow(rs));
      }
    }
    return out;
  }

  private static Checkpoint checkpointRow(ResultSet rs) throws SQLException {
    return new Checkpoint(rs.getLong(1), rs.getString(2), Instant.ofEpochMilli(rs.getLong(3)), rs.getString(4), rs.getString(5));
  }

  /**
   * Streams entries in order without holding them all in memory (a cursor on PostgreSQL), until
   * {@code sink} returns false.
   */
  private static void streamEntries(Tx tx, long afterSeq, long limit, Predicate<AuditEntry> sink) throws SQLException {
    boolean auto = tx.connection().getAutoCommit();
    if (tx.dialect() == Dialect.POSTGRES && auto) {
      tx.connection().setAutoCommit(false); // PostgreSQL only streams with a cursor inside a transaction
    }
    try (PreparedStatement ps = tx.connection().prepareStatement(
        "SELECT seq, at_millis, principal, action, resource, before_digest, after_digest, details, prev_hash, hash"
            + " FROM fd_audit_entry WHERE seq > ? ORDER BY seq" + (limit == Long.MAX_VALUE ? "" : " LIMIT " + limit))) {
      ps.setFetchSize(10_000);
      ps.setLong(1, afterSeq);
      try (ResultSet rs = ps.executeQuery()) {
        boolean more = true;
        while (more && rs.next()) {
          AuditEvent ev = new AuditEvent(rs.getString(3), rs.getString(4), rs.getString(5),
              Optional.ofNullable(rs.getString(6)), Optional.ofNullable(rs.getString(7)), rs.getString(8));
          more = sink.test(new AuditEntry(rs.getLong(1), Instant.ofEpochMilli(rs.getLong(2)), ev, rs.getString(9), rs.getString(10)));
        }
      }
    } finally {
      if (tx.dialect() == Dialect.POSTGRES && auto) {
        tx.connection().rollback();
        tx.connection().setAutoCommit(true);
      }
    }
  }
}

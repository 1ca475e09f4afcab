package dev.flightdeck.store.resource;

import dev.flightdeck.api.ConflictException;
import dev.flightdeck.api.InvalidResourceException;
import dev.flightdeck.api.NotFoundException;
import dev.flightdeck.api.audit.AuditEvent;
import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.parse.Diagnostic;
import dev.flightdeck.api.parse.ParsedResource;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.api.resource.LabelSelector;
import dev.flightdeck.api.resource.Metadata;
import dev.flightdeck.api.resource.Resource;
import dev.flightdeck.api.resource.ResourceRules;
import dev.flightdeck.store.Counters;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.Tx;
import dev.flightdeck.store.audit.AuditLog;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Stores resources with every version kept. A batch is applied in one transaction: all of it
 * or none of it, with its history rows and audit entries. Writers are serialized on the global
 * revision counter, so a stale {@code resourceVersion} is always caught and never overwrites.
 */
public final class ResourceStore {

  private final Database db;
  private final AuditLog audit;
  private final Clock clock;
  private final List<Runnable> commitListeners = new CopyOnWriteArrayList<>();

  /** A store over {@code db} that records every change in {@code audit}. */
  public ResourceStore(Database db, AuditLog audit, Clock clock) {
    this.db = db;
    this.audit = audit;
    this.clock = clock;
  }

  /**
   * Runs {@code listener} after each committed change (watchers and the gateway use it to wake
   * up). A listener that throws is logged and does not affect the change, which is committed.
   *
   * @return closing it removes the listener
   */
  public AutoCloseable onCommit(Runnable listener) {
    commitListeners.add(listener);
    return () -> commitListeners.remove(listener);
  }

  private void notifyCommitted() {
    for (Runnable l : commitListeners) {
      try {
        l.run();
      } catch (RuntimeException e) {
        System.getLogger(ResourceStore.class.getName()).log(System.Logger.Level.WARNING,
            "a commit listener failed: " + e);
      }
    }
  }

  /**
   * Creates or updates every resource of the batch, atomically. A resource that names a
   * {@code resourceVersion} must still be at that version.
   *
   * @throws InvalidResourceException when a reference names a missing resource (every one listed)
   * @throws ConflictException on a stale resourceVersion or a changed AgentVersion spec
   */
  public List<ApplyResult> apply(List<ParsedResource> batch, Principal who, boolean dryRun) {
    return write(batch, who, dryRun, false);
  }

  /** Like {@link #apply}, but fails with a conflict when any resource of the batch already exists. */
  public List<ApplyResult> create(List<ParsedResource> batch, Principal who) {
    return write(batch, who, false, true);
  }

  private List<ApplyResult> write(List<ParsedResource> batch, Principal who, boolean dryRun, boolean createOnly) {
    List<ApplyResult> results = db.inTransaction(createOnly ? "create" : "apply", tx -> {
      lockWriters(tx);
      Overlay lookup = new Overlay(tx);
      Map<String, Optional<Resource>> current = new LinkedHashMap<>();
      for (ParsedResource p : batch) {
        Resource r = p.resource();
        current.put(r.ref(), lookup.stored(r.kind(), r.name()));
        lookup.pending.put(r.ref(), r);
      }
      List<Diagnostic> problems = new ArrayList<>();
      List<String> conflicts = new ArrayList<>();
      for (ParsedResource p : batch) {
        Resource r = p.resource();
        Optional<Resource> cur = current.get(r.ref());
        long sent = r.metadata().resourceVersion();
        if (createOnly && cur.isPresent()) {
          conflicts.add(r.ref() + " already exists; change it with PUT or apply");
        } else if (sent > 0 && cur.isEmpty()) {
          conflicts.add(r.ref() + ": you sent resourceVersion " + sent + " but it no longer exists (deleted since you read it)");
        } else if (sent > 0 && cur.get().metadata().resourceVersion() != sent) {
          conflicts.add(r.ref() + " was changed since you read it: you sent resourceVersion " + sent
              + ", it is now " + cur.get().metadata().resourceVersion() + ". Get it again, redo your change and retry");
        }
        cur.flatMap(c -> ResourceRules.immutabilityViolation(r, c)).ifPresent(conflicts::add);
        ResourceRules.checkReferences(r, lookup, (path, msg) -> problems.add(p.sourceMap().at(path, msg)));
      }
      if (!problems.isEmpty()) {
        throw new InvalidResourceException(problems);
      }
      if (!conflicts.isEmpty()) {
        throw new ConflictException(String.join("\n", conflicts));
      }
      List<ApplyResult> out = new ArrayList<>();
      List<AuditEvent> events = new ArrayList<>();
      for (ParsedResource p : batch) {
        Resource r = p.resource();
        Optional<Resource> cur = current.get(r.ref());
        if (cur.isPresent() && sameContent(cur.get(), r)) {
          out.add(new ApplyResult(cur.get(), ApplyResult.Change.UNCHANGED));
          continue;
        }
        Resource stored = write(tx, r, cur, who);
        events.add(new AuditEvent(who.name(), cur.isPresent() ? "resource.update" : "resource.create", r.ref(),
            cur.map(ResourceStore::documentDigest), Optional.of(documentDigest(stored)), "{}"));
        out.add(new ApplyResult(stored, cur.isPresent() ? ApplyResult.Change.UPDATED : ApplyResult.Change.CREATED));
      }
      if (dryRun) {
        tx.connection().rollback();
      } else if (!events.isEmpty()) {
        audit.append(tx, events);
      }
      return out;
    });
    if (!dryRun && results.stream().anyMatch(r -> r.change() != ApplyResult.Change.UNCHANGED)) {
      notifyCommitted();
    }
    return results;
  }

  /** The resource of that kind and name. */
  public Optional<Resource> get(Kind kind, String name) {
    return db.read("get", tx -> load(tx, kind, name));
  }

  /** Every resource of a kind whose labels match, sorted by name. */
  public List<Resource> list(Kind kind, LabelSelector selector) {
    return db.read("list", tx -> loadAll(tx, kind)).stream()
        .filter(r -> selector.matches(r.metadata().labels())).toList();
  }

  /**
   * Deletes a resource. {@code expectedVersion} 0 deletes whatever version is stored.
   *
   * @throws NotFoundException when it does not exist
   * @throws ConflictException when the version is stale or another resource refers to it
   */
  public Resource delete(Kind kind, String name, long expectedVersion, Principal who) {
    Resource deleted = db.inTransaction("delete", tx -> {
      lockWriters(tx);
      Resource cur = load(tx, kind, name).orElseThrow(() ->
          new NotFoundException(kind.singular() + "/" + name + " does not exist"));
      if (expectedVersion > 0 && cur.metadata().resourceVersion() != expectedVersion) {
        throw new ConflictException(cur.ref() + " was changed since you read it: you sent resourceVersion "
            + expectedVersion + ", it is now " + cur.metadata().resourceVersion());
      }
      List<String> dependents = ResourceRules.dependents(cur, new Overlay(tx));
      if (!dependents.isEmpty()) {
        throw new ConflictException(cur.ref() + " is still referred to by " + String.join(", ", dependents)
            + "; delete or change those first");
      }
      long rev = nextRevision(tx);
      try (PreparedStatement ps = tx.connection().prepareStatement("DELETE FROM fd_resource WHERE kind = ? AND name = ?")) {
        ps.setString(1, kind.name());
        ps.setString(2, name);
        ps.executeUpdate();
      }
      insertHistory(tx, rev, cur, Operation.DELETED, who, now());
      audit.append(tx, List.of(new AuditEvent(who.name(), "resource.delete", cur.ref(),
          Optional.of(documentDigest(cur)), Optional.empty(), "{}")));
      return cur;
    });
    notifyCommitted();
    return deleted;
  }

  /** Every stored version of a resource, oldest first, deletions included. */
  public List<ResourceEvent> history(Kind kind, String name) {
    return db.read("history", tx -> events(tx,
        "SELECT revision, operation, principal, at, document FROM fd_resource_history"
            + " WHERE kind = ? AND name = ? ORDER BY revision", ps -> {
          ps.setString(1, kind.name());
          ps.setString(2, name);
        }));
  }

  /** Changes after {@code revision}, oldest first, at most {@code limit}; all kinds when empty. */
  public List<ResourceEvent> changesSince(long revision, Optional<Kind> kind, int limit) {
    String sql = "SELECT revision, operation, principal, at, document FROM fd_resource_history WHERE revision > ?"
        + (kind.isPresent() ? " AND kind = ?" : "") + " ORDER BY revision LIMIT " + Math.max(1, limit);
    return db.read("changes", tx -> events(tx, sql, ps -> {
      ps.setLong(1, revision);
      if (kind.isPresent()) {
        ps.setString(2, kind.get().name());
      }
    }));
  }

  /** The latest revision committed. */
  public long revision() {
    return db.read("revision", tx -> Counters.read(tx, "revision"));
  }

  private Resource write(Tx tx, Resource r, Optional<Resource> cur, Principal who) throws SQLException {
    long rev = nextRevision(tx);
    Instant now = now();
    boolean specChanged = cur.isEmpty() || !cur.get().specDigest().equals(r.specDigest());
    Metadata m = r.metadata().stored(rev,
        cur.flatMap(c -> c.metadata().uid()).orElseGet(() -> UUID.randomUUID().toString()),
        cur.flatMap(c -> c.metadata().creationTimestamp()).orElse(now),
        cur.map(c -> c.metadata().generation() + (specChanged ? 1 : 0)).orElse(1L));
    Resource stored = new Resource(r.kind(), m, r.spec(),
        cur.map(Resource::status).orElseGet(() -> ResourceRules.initialStatus(r)));
    String doc = Json.write(stored.toJson());
    String sql = cur.isPresent()
        ? "UPDATE fd_resource SET uid = ?, resource_version = ?, generation = ?, spec_digest = ?, document = ?,"
            + " created_at = ?, updated_at = ? WHERE kind = ? AND name = ?"
        : "INSERT INTO fd_resource (uid, resource_version, generation, spec_digest, document, created_at, updated_at,"
            + " kind, name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
    try (PreparedStatement ps = tx.connection().prepareStatement(sql)) {
      ps.setString(1, m.uid().orElseThrow());
      ps.setLong(2, rev);
      ps.setLong(3, m.generation());
      ps.setString(4, stored.specDigest());
      ps.setString(5, doc);
      ps.setString(6, m.creationTimestamp().orElseThrow().toString());
      ps.setString(7, now.toString());
      ps.setString(8, r.kind().name());
      ps.setString(9, r.name());
      ps.executeUpdate();
    }
    insertHistory(tx, rev, stored, cur.isPresent() ? Operation.UPDATED : Operation.CREATED, who, now);
    return stored;
  }

  private static void insertHistory(Tx tx, long rev, Resource r, Operation op, Principal who, Instant at)
      throws SQLException {
    try (PreparedStatement ps = tx.connection().prepareStatement(
        "INSERT INTO fd_resource_history (revision, kind, name, uid, operation, document, principal, at)"
            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
      ps.setLong(1, rev);
      ps.setString(2, r.kind().name());
      ps.setString(3, r.name());
      ps.setString(4, r.metadata().uid().orElse(""));
      ps.setString(5, op.name());
      ps.setString(6, Json.write(r.toJson()));
      ps.setString(7, who.name());
      ps.setString(8, at.toString());
      ps.executeUpdate();
    }
  }

  /** Serializes writers: on PostgreSQL a row lock held to commit; SQLite transactions are already exclusive. */
  private static void lockWriters(Tx tx) throws SQLException {
    try (var st = tx.connection().createStatement()) {
      st.executeUpdate("UPDATE fd_counter SET value = value WHERE name = 'revision'");
    }
  }

  private static long nextRevision(Tx tx) throws SQLException {
    return Counters.next(tx, "revision");
  }

  private static Optional<Resource> load(Tx tx, Kind kind, String name) throws SQLException {
    try (PreparedStatement ps = tx.connection().prepareStatement(
        "SELECT document FROM fd_resource WHERE kind = ? AND name = ?")) {
      ps.setString(1, kind.name());
      ps.setString(2, name);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(Resource.fromJson(Json.read(rs.getString(1)))) : Optional.empty();
      }
    }
  }

  private static List<Resource> loadAll(Tx tx, Kind kind) throws SQLException {
    try (PreparedStatement ps = tx.connection().prepareStatement(
        "SELECT document FROM fd_resource WHERE kind = ? ORDER BY name")) {
      ps.setString(1, kind.name());
      List<Resource> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(Resource.fromJson(Json.read(rs.getString(1))));
        }
      }
      return out;
    }
  }

  private interface Binder {
    void bind(PreparedStatement ps) throws SQLException;
  }

  private static List<ResourceEvent> events(Tx tx, String sql, Binder binder) throws SQLException {
    try (PreparedStatement ps = tx.connection().prepareStatement(sql)) {
      binder.bind(ps);
      List<ResourceEvent> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new ResourceEvent(rs.getLong(1), Operation.valueOf(rs.getString(2)), rs.getString(3),
              Instant.parse(rs.getString(4)), Resource.fromJson(Json.read(rs.getString(5)))));
        }
      }
      return out;
    }
  }

  private static boolean sameContent(Resource stored, Resource incoming) {
    return stored.specDigest().equals(incoming.specDigest())
        && stored.metadata().labels().equals(incoming.metadata().labels())
        && stored.metadata().annotations().equals(incoming.metadata().annotations());
  }

  private static String documentDigest(Resource r) {
    return Json.digest(r.toJson());
  }

  private Instant now() {
    return clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
  }

  /** The stored state inside the transaction, with the batch being applied laid over it. */
  private static final class Overlay implements ResourceRules.Lookup {
    private final Tx tx;
    private final Map<String, Resource> pending = new HashMap<>();

    Overlay(Tx tx) {
      this.tx = tx;
    }

    Optional<Resource> stored(Kind kind, String name) throws SQLException {
      return load(tx, kind, name);
    }

    @Override
    public Optional<Resource> find(Kind kind, String name) {
      Resource p = pending.get(kind.singular() + "/" + name);
      if (p != null) {
        return Optional.of(p);
      }
      try {
        return load(tx, kind, name);
      } catch (SQLException e) {
        throw new dev.flightdeck.store.StoreException("cannot read " + kind.singular() + "/" + name, e);
      }
    }

    @Override
    public List<Resource> all(Kind kind) {
      try {
        Map<String, Resource> byName = new LinkedHashMap<>();
        loadAll(tx, kind).forEach(r -> byName.put(r.name(), r));
        pending.values().stream().filter(r -> r.kind() == kind).forEach(r -> byName.put(r.name(), r));
        return List.copyOf(byName.values());
      } catch (SQLException e) {
        throw new dev.flightdeck.store.StoreException("cannot list " + kind.plural(), e);
      }
    }
  }
}

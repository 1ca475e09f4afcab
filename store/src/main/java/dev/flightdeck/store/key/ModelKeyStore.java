package dev.flightdeck.store.key;

import dev.flightdeck.api.NotFoundException;
import dev.flightdeck.api.audit.AuditEvent;
import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.store.Counters;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.Secrets;
import dev.flightdeck.store.Tx;
import dev.flightdeck.store.audit.AuditLog;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Virtual model keys of agent versions. A key is 32 random bytes; only its SHA-256 is stored (see
 * {@link Secrets}), so a copy of the database holds no usable key. Every creation and revocation
 * moves {@link #revision()} in the same transaction, so a gateway that polls it and reloads
 * {@link #liveByHash()} never serves a revoked key for longer than its polling interval.
 */
public final class ModelKeyStore {

  /** Every model key starts with this, so secret scanners and people recognise it. */
  public static final String PREFIX = "fdk_";

  private static final String COUNTER = "model_keys";
  private static final String COLUMNS = "id, name, agent, version, prefix, created_at, created_by, revoked_at";

  private final Database db;
  private final AuditLog audit;
  private final Clock clock;

  /** A key store over {@code db}, recording issues and revocations in {@code audit}. */
  public ModelKeyStore(Database db, AuditLog audit, Clock clock) {
    this.db = Objects.requireNonNull(db, "db");
    this.audit = Objects.requireNonNull(audit, "audit");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * Issues a key for an AgentVersion (the caller checked the version exists); audited as
   * {@code modelkey.create} with the key id, never the secret. The secret is returned once.
   *
   * @throws IllegalArgumentException when the name is blank or longer than 128 characters
   */
  public IssuedModelKey create(String agent, String version, String name, Principal by) {
    Objects.requireNonNull(agent, "agent");
    Objects.requireNonNull(version, "version");
    if (name.isBlank() || name.length() > 128) {
      throw new IllegalArgumentException("model key name: expected 1 to 128 characters, got " + name.length());
    }
    return db.inTransaction("create model key", tx -> {
      String secret = Secrets.generate(PREFIX);
      ModelKey k = new ModelKey(Secrets.id("mk_", 12), name.strip(), agent, version,
          secret.substring(PREFIX.length(), PREFIX.length() + 8), clock.instant().truncatedTo(ChronoUnit.MILLIS),
          by.name(), null);
      try (PreparedStatement ps = tx.connection().prepareStatement("INSERT INTO fd_model_key (" + COLUMNS
          + ", key_hash, seq) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)")) {
        ps.setString(1, k.id());
        ps.setString(2, k.name());
        ps.setString(3, k.agent());
        ps.setString(4, k.version());
        ps.setString(5, k.prefix());
        ps.setString(6, k.createdAt().toString());
        ps.setString(7, k.createdBy());
        ps.setString(8, hash(secret));
        ps.setLong(9, Counters.next(tx, COUNTER));
        ps.executeUpdate();
      }
      audit.append(tx, List.of(event(by, "modelkey.create", k)));
      return new IssuedModelKey(k, secret);
    });
  }

  /** Keys of a version, newest first, live and revoked. */
  public List<ModelKey> list(String version) {
    return db.read("list model keys", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "SELECT " + COLUMNS + " FROM fd_model_key WHERE version = ? ORDER BY seq DESC")) {
        ps.setString(1, version);
        return rows(ps);
      }
    });
  }

  /**
   * Revokes a key at once; revoking a revoked key returns it unchanged (and audits nothing).
   * Audited as {@code modelkey.revoke}.
   *
   * @throws NotFoundException when no key has that id
   */
  public ModelKey revoke(String id, Principal by) {
    return db.inTransaction("revoke model key", tx -> {
      boolean revokedNow;
      // Conditional, so of two concurrent revocations exactly one counts and is audited.
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "UPDATE fd_model_key SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")) {
        ps.setString(1, clock.instant().truncatedTo(ChronoUnit.MILLIS).toString());
        ps.setString(2, id);
        revokedNow = ps.executeUpdate() == 1;
      }
      ModelKey k = byId(tx, id).orElseThrow(() -> new NotFoundException("no model key with id " + id
          + " (see `flightdeck keys list agentversion/NAME`)"));
      if (revokedNow) {
        Counters.next(tx, COUNTER);
        audit.append(tx, List.of(event(by, "modelkey.revoke", k)));
      }
      return k;
    });
  }

  /** Every live key by its secret's hash, for the gateway's in-memory lookup table. */
  public Map<String, ModelKey> liveByHash() {
    return db.read("live model keys", tx -> {
      Map<String, ModelKey> out = new HashMap<>();
      try (var st = tx.connection().createStatement();
           ResultSet rs = st.executeQuery("SELECT " + COLUMNS + ", key_hash FROM fd_model_key WHERE revoked_at IS NULL")) {
        while (rs.next()) {
          out.put(rs.getString(9), row(rs));
        }
      }
      return Map.copyOf(out);
    });
  }

  /**
   * A number that changes whenever a key is created or revoked (one primary-key read): the
   * gateway polls it and reloads {@link #liveByHash()} when it moves.
   */
  public long revision() {
    return db.read("model keys revision", tx -> Counters.read(tx, COUNTER));
  }

  /** SHA-256 hex of a secret, as stored: the gateway hashes incoming keys with it. */
  public static String hash(String secret) {
    return Secrets.hash(secret);
  }

  private static AuditEvent event(Principal by, String action, ModelKey k) {
    return new AuditEvent(by.name(), action, "agentversion/" + k.version(), Optional.empty(), Optional.empty(),
        Json.write(Json.object().put("id", k.id()).put("name", k.name()).put("agent", k.agent())));
  }

  private static Optional<ModelKey> byId(Tx tx, String id) throws SQLException {
    try (PreparedStatement ps = tx.connection().prepareStatement("SELECT " + COLUMNS + " FROM fd_model_key WHERE id = ?")) {
      ps.setString(1, id);
      return rows(ps).stream().findFirst();
    }
  }

  private static List<ModelKey> rows(PreparedStatement ps) throws SQLException {
    List<ModelKey> out = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(row(rs));
      }
    }
    return out;
  }

  private static ModelKey row(ResultSet rs) throws SQLException {
    String revoked = rs.getString(8);
    return new ModelKey(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
        Instant.parse(rs.getString(6)), rs.getString(7), revoked == null ? null : Instant.parse(revoked));
  }
}

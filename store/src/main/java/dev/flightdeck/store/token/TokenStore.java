package dev.flightdeck.store.token;

import dev.flightdeck.api.NotFoundException;
import dev.flightdeck.api.audit.AuditEvent;
import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.auth.Role;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.Secrets;
import dev.flightdeck.store.Tx;
import dev.flightdeck.store.audit.AuditLog;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Bearer API tokens. A token is 32 random bytes; only its SHA-256 is stored, so a copy of the
 * database reveals no usable token (see {@link Secrets}).
 */
public final class TokenStore {

  /** Every token starts with this, so secret scanners and people recognise it. */
  public static final String PREFIX = "fd_";

  private final Database db;
  private final AuditLog audit;
  private final Clock clock;

  /** A token store over {@code db}, recording issues and revocations in {@code audit}. */
  public TokenStore(Database db, AuditLog audit, Clock clock) {
    this.db = db;
    this.audit = audit;
    this.clock = clock;
  }

  /** Issues the first admin token when no token exists yet (first start); empty otherwise. */
  public Optional<IssuedToken> bootstrapAdmin() {
    return db.inTransaction("bootstrap token", tx -> {
      try (var st = tx.connection().createStatement();
           ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM fd_api_token")) {
        rs.next();
        if (rs.getLong(1) > 0) {
          return Optional.empty();
        }
      }
      return Optional.of(insert(tx, "admin", Role.ADMIN, Principal.SYSTEM));
    });
  }

  /** Issues a new token; its secret is returned once and never stored. */
  public IssuedToken create(String name, Role role, Principal by) {
    if (name.isBlank() || name.length() > 128) {
      throw new IllegalArgumentException("token name: expected 1 to 128 characters, got " + name.length());
    }
    return db.inTransaction("create token", tx -> insert(tx, name.strip(), role, by));
  }

  /** The live token behind a bearer secret, if any; revoked and unknown tokens give empty. */
  public Optional<ApiToken> authenticate(String secret) {
    if (!secret.startsWith(PREFIX) || secret.length() > 200) {
      return Optional.empty();
    }
    String hash = Secrets.hash(secret);
    return db.read("authenticate", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "SELECT id, name, role, created_at, created_by, revoked_at FROM fd_api_token WHERE token_hash = ?")) {
        ps.setString(1, hash);
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            return Optional.<ApiToken>empty();
          }
          ApiToken t = row(rs);
          return t.revokedAt().isPresent() ? Optional.<ApiToken>empty() : Optional.of(t);
        }
      }
    });
  }

  /** Every token, revoked ones included, oldest first. */
  public List<ApiToken> list() {
    return db.read("list tokens", tx -> {
      try (var st = tx.connection().createStatement();
           ResultSet rs = st.executeQuery(
               "SELECT id, name, role, created_at, created_by, revoked_at FROM fd_api_token ORDER BY created_at, id")) {
        List<ApiToken> out = new ArrayList<>();
        while (rs.next()) {
          out.add(row(rs));
        }
        return out;
      }
    });
  }

  /** Revokes a token at once. @throws NotFoundException when no token has that id */
  public ApiToken revoke(String id, Principal by) {
    return db.inTransaction("revoke token", tx -> {
      Instant now = clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
      try (PreparedStatement ps = tx.connection().prepareStatement(
          "UPDATE fd_api_token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")) {
        ps.setString(1, now.toString());
        ps.setString(2, id);
        if (ps.executeUpdate() == 0) {
          throw new NotFoundException("no live token with id " + id + " (see `flightdeck token list`)");
        }
      }
      ApiToken t = byId(tx, id);
      audit.append(tx, List.of(new AuditEvent(by.name(), "token.revoke", "token/" + t.name(),
          Optional.empty(), Optional.empty(), Json.write(Json.object().put("id", id)))));
      return t;
    });
  }

  private IssuedToken insert(Tx tx, String name, Role role, Principal by) throws SQLException {
    String secret = Secrets.generate(PREFIX);
    ApiToken t = new ApiToken(UUID.randomUUID().toString(), name, role, clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MILLIS), by.name(), Optional.empty());
    try (PreparedStatement ps = tx.connection().prepareStatement(
        "INSERT INTO fd_api_token (id, name, role, token_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)")) {
      ps.setString(1, t.id());
      ps.setString(2, t.name());
      ps.setString(3, t.role().id());
      ps.setString(4, Secrets.hash(secret));
      ps.setString(5, t.createdAt().toString());
      ps.setString(6, t.createdBy());
      ps.executeUpdate();
    }
    audit.append(tx, List.of(new AuditEvent(by.name(), "token.create", "token/" + name, Optional.empty(),
        Optional.empty(), Json.write(Json.object().put("id", t.id()).put("role", role.id())))));
    return new IssuedToken(t, secret);
  }

  private static ApiToken byId(Tx tx, String id) throws SQLException {
    try (PreparedStatement ps = tx.connection().prepareStatement(
        "SELECT id, name, role, created_at, created_by, revoked_at FROM fd_api_token WHERE id = ?")) {
      ps.setString(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return row(rs);
      }
    }
  }

  private static ApiToken row(ResultSet rs) throws SQLException {
    String revoked = rs.getString(6);
    return new ApiToken(rs.getString(1), rs.getString(2), Role.parse(rs.getString(3)).orElseThrow(),
        Instant.parse(rs.getString(4)), rs.getString(5),
        revoked == null ? Optional.empty() : Optional.of(Instant.parse(revoked)));
  }
}

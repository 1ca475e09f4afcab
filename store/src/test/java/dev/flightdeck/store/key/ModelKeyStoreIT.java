package dev.flightdeck.store.key;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flightdeck.api.NotFoundException;
import dev.flightdeck.api.audit.AuditEntry;
import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.auth.Role;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.Dialect;
import dev.flightdeck.store.TestDatabases;
import dev.flightdeck.store.audit.AuditLog;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** Model keys on SQLite and PostgreSQL: issue, list, revoke, what is stored, and the revision gateways poll. */
@ParameterizedClass
@EnumSource(Dialect.class)
class ModelKeyStoreIT {

  private static final Principal ALICE = new Principal("token:alice", Role.OPERATOR);

  private final Dialect dialect;
  @TempDir Path dir;
  private Database db;
  private AuditLog audit;
  private ModelKeyStore keys;

  ModelKeyStoreIT(Dialect dialect) {
    this.dialect = dialect;
  }

  /** A clock one second further on at every reading, so "unchanged" times are really unchanged. */
  private static final class Ticking extends Clock {
    private Instant now = Instant.parse("2025-03-01T10:00:00Z");

    @Override
    public synchronized Instant instant() {
      now = now.plus(Duration.ofSeconds(1));
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  @BeforeEach
  void open() {
    db = TestDatabases.of(dialect, dir);
    audit = AuditLog.open(db, dir.resolve("audit.key"));
    keys = new ModelKeyStore(db, audit, new Ticking());
  }

  @AfterEach
  void close() {
    audit.close();
    db.close();
  }

  @Test
  void issuesKeysInTheDocumentedFormat_andListsAVersionsKeysNewestFirst() {
    IssuedModelKey first = keys.create("triage", "triage-v1", "default", ALICE);
    IssuedModelKey second = keys.create("triage", "triage-v1", "  staging ", ALICE);
    keys.create("triage", "triage-v2", "default", ALICE);

    assertThat(first.secret()).matches("fdk_[A-Za-z0-9_-]{43}");
    assertThat(first.key().id()).matches("mk_[a-z2-7]{12}");
    assertThat(first.key().prefix()).isEqualTo(first.secret().substring(4, 12));
    assertThat(first.key()).extracting(ModelKey::agent, ModelKey::version, ModelKey::name, ModelKey::createdBy)
        .containsExactly("triage", "triage-v1", "default", "token:alice");
    assertThat(first.key().live()).isTrue();
    assertThat(second.key().name()).isEqualTo("staging");
    assertThat(first.toString()).doesNotContain(first.secret());

    assertThat(keys.list("triage-v1")).containsExactly(second.key(), first.key());
    assertThat(keys.list("triage-v3")).isEmpty();
  }

  @Test
  void revokedKeysLeaveTheLiveTable_revokingAgainChangesNothing_andUnknownIdsAreNotFound() {
    IssuedModelKey kept = keys.create("triage", "triage-v1", "kept", ALICE);
    IssuedModelKey gone = keys.create("triage", "triage-v1", "gone", ALICE);
    assertThat(keys.liveByHash()).containsOnlyKeys(ModelKeyStore.hash(kept.secret()), ModelKeyStore.hash(gone.secret()));
    assertThat(keys.liveByHash().get(ModelKeyStore.hash(kept.secret()))).isEqualTo(kept.key());

    ModelKey revoked = keys.revoke(gone.key().id(), ALICE);
    assertThat(revoked.live()).isFalse();
    assertThat(revoked.revokedAt()).isAfter(gone.key().createdAt());
    assertThat(revoked).usingRecursiveComparison().ignoringFields("revokedAt").isEqualTo(gone.key());
    assertThat(keys.liveByHash()).containsOnlyKeys(ModelKeyStore.hash(kept.secret()));
    assertThat(keys.list("triage-v1")).containsExactly(revoked, kept.key());

    assertThat(keys.revoke(gone.key().id(), ALICE)).isEqualTo(revoked);
    assertThat(actions()).containsExactly("modelkey.create", "modelkey.create", "modelkey.revoke");

    assertThatThrownBy(() -> keys.revoke("mk_aaaaaaaaaaaa", ALICE)).isInstanceOf(NotFoundException.class)
        .hasMessageContaining("no model key with id mk_aaaaaaaaaaaa");
  }

  @Test
  void theDatabaseAndTheAuditLogHoldOnlyTheHash_neverTheSecret() throws Exception {
    IssuedModelKey k = keys.create("triage", "triage-v1", "default", ALICE);
    keys.revoke(k.key().id(), ALICE);
    String hash = ModelKeyStore.hash(k.secret());
    assertThat(hash).matches("[0-9a-f]{64}").isNotEqualTo(k.secret());

    // Every column of the row, whatever it is called: the hash is there, the secret (nor its random part) is not.
    List<String> row = db.read("scan", tx -> {
      List<String> values = new ArrayList<>();
      try (var st = tx.connection().createStatement(); ResultSet rs = st.executeQuery("SELECT * FROM fd_model_key")) {
        while (rs.next()) {
          for (int c = 1; c <= rs.getMetaData().getColumnCount(); c++) {
            values.add(String.valueOf(rs.getString(c)));
          }
        }
      }
      return values;
    });
    assertThat(row).contains(hash, k.key().id());
    String random = k.secret().substring(ModelKeyStore.PREFIX.length());
    assertThat(row).noneMatch(v -> v.contains(random) || v.contains(random.substring(8)));

    List<AuditEntry> entries = audit.list(0, 100);
    assertThat(entries).extracting(e -> e.event().action()).containsExactly("modelkey.create", "modelkey.revoke");
    for (AuditEntry e : entries) {
      assertThat(e.event().resource()).isEqualTo("agentversion/triage-v1");
      assertThat(e.event().principal()).isEqualTo("token:alice");
      assertThat(e.event().details()).contains(k.key().id()).doesNotContain(random.substring(8)).doesNotContain(hash);
    }
  }

  @Test
  void theRevisionMovesOnEveryCreateAndRevoke_andOnNothingElse() {
    long start = keys.revision();
    IssuedModelKey k = keys.create("triage", "triage-v1", "default", ALICE);
    long afterCreate = keys.revision();
    assertThat(afterCreate).isNotEqualTo(start);

    keys.list("triage-v1");
    keys.liveByHash();
    assertThatThrownBy(() -> keys.revoke("mk_unknown", ALICE)).isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> keys.create("triage", "triage-v1", " ", ALICE)).isInstanceOf(IllegalArgumentException.class);
    assertThat(keys.revision()).isEqualTo(afterCreate);

    keys.revoke(k.key().id(), ALICE);
    long afterRevoke = keys.revision();
    assertThat(afterRevoke).isNotIn(start, afterCreate);
    keys.revoke(k.key().id(), ALICE);
    assertThat(keys.revision()).isEqualTo(afterRevoke);
  }

  @Test
  void namesMustBeOneTo128Characters() {
    assertThat(keys.create("triage", "triage-v1", "n".repeat(128), ALICE).key().name()).hasSize(128);
    for (String bad : List.of("", "   ", "n".repeat(129))) {
      assertThatThrownBy(() -> keys.create("triage", "triage-v1", bad, ALICE))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 to 128 characters");
    }
    assertThat(keys.list("triage-v1")).hasSize(1);
  }

  private List<String> actions() {
    return audit.list(0, 100).stream().map(e -> e.event().action()).toList();
  }
}

package dev.flightdeck.store.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flightdeck.api.audit.AuditChain;
import dev.flightdeck.api.audit.AuditEntry;
import dev.flightdeck.api.audit.AuditEvent;
import dev.flightdeck.api.audit.AuditExport;
import dev.flightdeck.api.audit.VerifyReport;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.Dialect;
import dev.flightdeck.store.TestDatabases;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The audit log's guarantees on SQLite and PostgreSQL, attacked through the database itself. */
class AuditLogIT {

  @TempDir Path dir;
  private Database db;
  private AuditLog audit;

  private void open(Dialect d) {
    db = TestDatabases.of(d, dir);
    audit = AuditLog.open(db, dir.resolve("audit.key"));
  }

  @AfterEach
  void close() {
    if (audit != null) {
      audit.close();
    }
    if (db != null) {
      db.close();
    }
  }

  private static AuditEvent event(int i) {
    return new AuditEvent("token:user" + (i % 7), "resource.update", "agent/a" + (i % 13),
        Optional.of("sha256:" + "a".repeat(64)), i % 3 == 0 ? Optional.empty() : Optional.of("sha256:" + "b".repeat(64)),
        "{\"i\":" + i + "}");
  }

  private void sql(String statement, Object... args) {
    db.inTransaction("tamper", tx -> {
      try (PreparedStatement ps = tx.connection().prepareStatement(statement)) {
        for (int i = 0; i < args.length; i++) {
          ps.setObject(i + 1, args[i]);
        }
        return ps.executeUpdate();
      }
    });
  }

  private void appendSequentially(int n) {
    for (int i = 0; i < n; i++) {
      audit.append(event(i));
    }
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void concurrentGroupCommitAndInTransactionAppendsFormOneGapFreeVerifiableChain(Dialect d) throws Exception {
    open(d);
    ExecutorService pool = Executors.newFixedThreadPool(10);
    List<Future<?>> work = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      int thread = t;
      work.add(pool.submit(() -> {
        for (int i = 0; i < 300; i++) {
          audit.append(event(thread * 1000 + i));
        }
      }));
    }
    for (int t = 0; t < 2; t++) {
      work.add(pool.submit(() -> {
        for (int i = 0; i < 50; i++) {
          int n = i;
          db.inTransaction("tx append", tx -> {
            audit.append(tx, List.of(event(n), event(n + 1)));
            return null;
          });
        }
      }));
    }
    for (Future<?> f : work) {
      f.get();
    }
    pool.shutdown();
    VerifyReport r = audit.verify();
    assertThat(r.ok()).as(r.toString()).isTrue();
    assertThat(r.entries()).isEqualTo(8 * 300 + 2 * 50 * 2);
    assertThat(audit.list(0, 10)).extracting(AuditEntry::seq).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L);
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void editingAStoredRowIsCaughtAndNamed(Dialect d) {
    open(d);
    appendSequentially(100);
    sql("UPDATE fd_audit_entry SET principal = 'token:mallory' WHERE seq = 42");
    VerifyReport r = audit.verify();
    assertThat(r.ok()).isFalse();
    assertThat(r.firstBad().orElseThrow().seq()).isEqualTo(42);
    assertThat(r.firstBad().orElseThrow().reason()).contains("altered");
    assertThat(r.entries()).isEqualTo(41);
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void deletingAMiddleRowIsCaughtAsAGap(Dialect d) {
    open(d);
    appendSequentially(50);
    sql("DELETE FROM fd_audit_entry WHERE seq = 17");
    VerifyReport r = audit.verify();
    assertThat(r.firstBad().orElseThrow()).satisfies(f -> {
      assertThat(f.seq()).isEqualTo(17);
      assertThat(f.reason()).contains("entry 17 missing");
    });
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void deletingTheTailAfterACheckpointIsCaughtAsTruncation(Dialect d) {
    open(d);
    appendSequentially(30);
    assertThat(audit.checkpoint()).map(c -> c.seq()).contains(30L);
    sql("DELETE FROM fd_audit_entry WHERE seq > 25");
    sql("UPDATE fd_audit_head SET seq = 25");
    VerifyReport r = audit.verify();
    assertThat(r.firstBad().orElseThrow().reason()).contains("log ends at entry 25").contains("checkpoint covers entry 30");
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void rewritingTheWholeChainAfterAnEditIsCaughtByTheSignedCheckpoint(Dialect d) {
    open(d);
    appendSequentially(40);
    audit.checkpoint();
    // The attacker edits entry 10 and recomputes every hash after it, so the chain links again.
    List<AuditEntry> entries = audit.list(0, 100);
    String prev = entries.get(8).hash();
    for (int i = 9; i < entries.size(); i++) {
      AuditEntry e = entries.get(i);
      AuditEvent ev = i == 9 ? new AuditEvent("token:mallory", e.event().action(), e.event().resource(),
          e.event().before(), e.event().after(), e.event().details()) : e.event();
      String hash = AuditChain.hash(prev, e.seq(), e.time(), ev);
      sql("UPDATE fd_audit_entry SET principal = ?, prev_hash = ?, hash = ? WHERE seq = ?", ev.principal(), prev, hash, e.seq());
      prev = hash;
    }
    VerifyReport r = audit.verify();
    assertThat(r.firstBad().orElseThrow()).satisfies(f -> {
      assertThat(f.seq()).isEqualTo(40);
      assertThat(f.reason()).contains("differs from the signed checkpoint");
    });
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void aForgedCheckpointSignatureIsCaught(Dialect d) {
    open(d);
    appendSequentially(5);
    audit.checkpoint();
    sql("UPDATE fd_audit_checkpoint SET signature = ? WHERE seq = 5",
        java.util.Base64.getEncoder().encodeToString(new byte[64]));
    assertThat(audit.verify().firstBad().orElseThrow().reason()).contains("signature does not verify");
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void anExportVerifiesOfflineAndAnEditedLineIsNamed(Dialect d) throws Exception {
    open(d);
    appendSequentially(AuditLog.CHECKPOINT_EVERY / 1000 * 3);
    audit.checkpoint();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    audit.export(out);
    String export = out.toString(StandardCharsets.UTF_8);
    assertThat(export.lines()).allSatisfy(l -> assertThat(l).startsWith("{\"").endsWith("}"));
    VerifyReport ok = AuditExport.verify(new ByteArrayInputStream(out.toByteArray()), Optional.of(audit.publicKey()));
    assertThat(ok.ok()).as(ok.toString()).isTrue();
    assertThat(ok.entries()).isEqualTo(30);

    String edited = export.replace("\"seq\":7,\"time\"", "\"seq\":7,\"time\"").replaceFirst(
        "(\"seq\":7,[^\\n]*\"action\":\")resource.update", "$1resource.delete");
    assertThat(edited).isNotEqualTo(export);
    VerifyReport bad = AuditExport.verify(new ByteArrayInputStream(edited.getBytes(StandardCharsets.UTF_8)), Optional.empty());
    assertThat(bad.firstBad().orElseThrow().seq()).isEqualTo(7);

    AuditLog other = AuditLog.open(db, dir.resolve("other.key"));
    VerifyReport wrongKey = AuditExport.verify(new ByteArrayInputStream(out.toByteArray()), Optional.of(other.publicKey()));
    other.close();
    assertThat(wrongKey.firstBad().orElseThrow().reason()).contains("not by the trusted key");
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void theSigningKeySurvivesRestartsInItsFile(Dialect d) {
    open(d);
    var before = audit.publicKey();
    audit.close();
    audit = AuditLog.open(db, dir.resolve("audit.key"));
    assertThat(audit.publicKey()).isEqualTo(before);
    appendSequentially(3);
    assertThat(audit.verify().ok()).isTrue();
  }
}

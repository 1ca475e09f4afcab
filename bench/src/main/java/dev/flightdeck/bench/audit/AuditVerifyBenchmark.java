package dev.flightdeck.bench.audit;

import dev.flightdeck.api.audit.AuditEvent;
import dev.flightdeck.api.audit.AuditExport;
import dev.flightdeck.api.audit.VerifyReport;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.audit.AuditLog;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Time to verify a log of {@code entries} entries: recomputing the chain and the checkpoints
 * from the database ({@code fromDatabase}) and from an export file offline ({@code fromExport}).
 *
 * <pre>
 * ./mvnw -q -pl bench -am package -DskipTests
 * java -jar bench/target/benchmarks.jar AuditVerifyBenchmark -f 1 -wi 1 -i 5
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgs = {"-Xmx2g", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 1)
@Measurement(iterations = 5)
public class AuditVerifyBenchmark {

  @Param({"sqlite", "postgres"})
  public String dialect;

  @Param({"1000000"})
  public int entries;

  private Database db;
  private AuditLog audit;
  private Path dir;
  private Path export;

  /** Writes the log once (in batches of 10,000 per transaction) and exports it. */
  @Setup(Level.Trial)
  public void fill() throws Exception {
    dir = BenchDatabases.tempDir();
    db = BenchDatabases.open(dialect, dir);
    audit = AuditLog.open(db, dir.resolve("audit.key"));
    for (int from = 0; from < entries; from += 10_000) {
      List<AuditEvent> batch = new ArrayList<>();
      for (int i = from; i < Math.min(entries, from + 10_000); i++) {
        batch.add(new AuditEvent("token:bench-" + (i % 8), "resource.update", "agent/a" + (i % 100),
            Optional.of(String.format("sha256:%064x", i)), Optional.empty(), "{\"i\":" + i + "}"));
      }
      db.inTransaction("fill", tx -> {
        audit.append(tx, batch);
        return null;
      });
    }
    audit.checkpoint();
    export = dir.resolve("audit.jsonl");
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(export), 1 << 16)) {
      audit.export(out);
    }
  }

  @TearDown(Level.Trial)
  public void close() {
    audit.close();
    db.close();
  }

  /** Verify from the database. */
  @Benchmark
  public VerifyReport fromDatabase() {
    return check(audit.verify());
  }

  /** Verify an export file offline, pinned to the server's key. */
  @Benchmark
  public VerifyReport fromExport() throws Exception {
    try (InputStream in = new BufferedInputStream(Files.newInputStream(export), 1 << 16)) {
      return check(AuditExport.verify(in, Optional.of(audit.publicKey())));
    }
  }

  private VerifyReport check(VerifyReport r) {
    if (!r.ok() || r.entries() != entries) {
      throw new IllegalStateException("expected " + entries + " verified entries, got " + r);
    }
    return r;
  }
}

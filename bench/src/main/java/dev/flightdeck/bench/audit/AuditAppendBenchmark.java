package dev.flightdeck.bench.audit;

import dev.flightdeck.api.audit.AuditEvent;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.audit.AuditLog;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Audit appends per second with 8 concurrent writers, each append durable (committed) before it
 * returns: the group-commit path ({@code groupCommit}) against one transaction per entry, the
 * naive hash chain ({@code naivePerTransaction}), on SQLite and PostgreSQL side by side.
 *
 * <pre>
 * ./mvnw -q -pl bench -am package -DskipTests
 * java -jar bench/target/benchmarks.jar AuditAppendBenchmark -f 1 -wi 1 -i 3 -w 5s -r 10s
 * </pre>
 * PostgreSQL: {@code FLIGHTDECK_BENCH_PG_URL} (default the local server's database {@code test}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(8)
@Fork(value = 1, jvmArgs = {"-Xmx2g", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 1, time = 5)
@Measurement(iterations = 3, time = 10)
public class AuditAppendBenchmark {

  @Param({"sqlite", "postgres"})
  public String dialect;

  private Database db;
  private AuditLog audit;
  private Path dir;
  private final AtomicLong counter = new AtomicLong();

  /** Opens a fresh database and log. */
  @Setup(Level.Trial)
  public void open() throws Exception {
    dir = BenchDatabases.tempDir();
    db = BenchDatabases.open(dialect, dir);
    audit = AuditLog.open(db, dir.resolve("audit.key"));
  }

  /** Verifies what was written, so a benchmark that corrupts the chain cannot pass unnoticed. */
  @TearDown(Level.Trial)
  public void close() {
    var report = audit.verify();
    if (!report.ok()) {
      throw new IllegalStateException("benchmark produced an invalid chain: " + report);
    }
    audit.close();
    db.close();
  }

  private AuditEvent next() {
    long n = counter.incrementAndGet();
    return new AuditEvent("token:bench-" + (n % 8), "resource.update", "agent/a" + (n % 100),
        Optional.of("sha256:3f1b2c9e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c"),
        Optional.of("sha256:9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"),
        "{\"n\":" + n + "}");
  }

  /** One durable append through the group-commit appender. */
  @Benchmark
  public long groupCommit() {
    return audit.append(next());
  }

  /** One durable append in its own transaction: lock the head, insert, update, commit. */
  @Benchmark
  public Object naivePerTransaction() {
    AuditEvent e = next();
    return db.inTransaction("naive append", tx -> {
      audit.append(tx, List.of(e));
      return null;
    });
  }
}

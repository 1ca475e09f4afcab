package dev.flightdeck.store.resource;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.api.resource.LabelSelector;
import dev.flightdeck.api.resource.Resource;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.Dialect;
import dev.flightdeck.store.TestDatabases;
import dev.flightdeck.store.audit.AuditLog;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Kills a real process with SIGKILL in the middle of applying batches, again and again, and
 * checks after each kill that every batch is there entirely or not at all: all agents of a
 * batch at the same round, each one's current row equal to its last history entry.
 */
class CrashSafetyIT {

  private static final int KILLS = 6;

  @TempDir Path dir;

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void killDashNineMidApplyLeavesTheOldOrTheNewBatch_neverAHalfWrite(Dialect dialect) throws Exception {
    Optional<String> pg = dialect == Dialect.POSTGRES ? Optional.of(TestDatabases.freshPostgresUrl()) : Optional.empty();
    Random random = new Random(42);
    int lastSeenRound = 0;
    for (int kill = 0; kill < KILLS; kill++) {
      List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
          "-cp", System.getProperty("java.class.path"), "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"),
          ApplyLoop.class.getName(), dir.toString()));
      pg.ifPresent(cmd::add);
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      int committed = 0;
      String line;
      // Let it commit a few rounds, then kill it at a random moment within the next ones.
      int target = 3 + random.nextInt(5);
      while ((line = out.readLine()) != null) {
        if (line.startsWith("round ")) {
          committed = Integer.parseInt(line.substring(6));
          if (--target == 0) {
            Thread.sleep(random.nextInt(15));
            break;
          }
        }
      }
      assertThat(committed).as("the child applied batches (output: %s)", line).isGreaterThan(lastSeenRound);
      p.destroyForcibly();
      assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as("killed by SIGKILL").isEqualTo(137);

      lastSeenRound = checkConsistent(pg, committed);
    }
  }

  /** Opens the store as a fresh process would and checks the invariants; returns the round found. */
  private int checkConsistent(Optional<String> pg, int lastPrinted) {
    try (Database db = Database.open(pg, dir); AuditLog audit = new AuditLog(db)) {
      ResourceStore store = new ResourceStore(db, audit, Clock.systemUTC());
      List<Resource> agents = store.list(Kind.AGENT, LabelSelector.everything());
      assertThat(agents).hasSize(ApplyLoop.RESOURCES);
      int round = Integer.parseInt(agents.get(0).metadata().annotations().get("round"));
      for (Resource a : agents) {
        assertThat(a.metadata().annotations()).containsEntry("round", Integer.toString(round));
        assertThat(a.spec().path("description").asText()).isEqualTo("round " + round);
        List<ResourceEvent> history = store.history(Kind.AGENT, a.name());
        ResourceEvent last = history.get(history.size() - 1);
        assertThat(last.resource().toJson()).isEqualTo(a.toJson());
        assertThat(last.revision()).isEqualTo(a.metadata().resourceVersion());
      }
      // Every round the child reported as committed is durable; it may have committed more
      // between the last line we read and the kill.
      assertThat(round).isGreaterThanOrEqualTo(lastPrinted);
      if (db.dialect() == Dialect.SQLITE) {
        String check = db.read("integrity", tx -> {
          try (var rs = tx.connection().createStatement().executeQuery("PRAGMA integrity_check")) {
            rs.next();
            return rs.getString(1);
          }
        });
        assertThat(check).isEqualTo("ok");
      }
      return round;
    }
  }
}

package dev.flightdeck.gateway.telemetry;

import static dev.flightdeck.gateway.telemetry.VersionWindowsTest.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.flightdeck.store.Database;
import dev.flightdeck.store.TestDatabases;
import dev.flightdeck.store.gateway.WindowStore;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Windows written to a real store (SQLite) and read back, as other replicas read them. */
class VersionWindowsIT {

  @TempDir Path dir;
  Database db;
  WindowStore store;
  // Recent seconds: the store drops rows older than an hour on every write.
  final long t0 = System.currentTimeMillis() / 1000 - 60;
  final AtomicLong now = new AtomicLong(t0);
  final VersionWindows windows = new VersionWindows(now::get);

  @BeforeEach
  void setUp() {
    db = TestDatabases.sqlite(dir);
    store = new WindowStore(db);
  }

  @AfterEach
  void tearDown() {
    db.close();
  }

  @Test
  void momentsAndCustomMetricsReadBackFromTheStoreAsTheyWereInMemory() {
    windows.record(request("v1", 100, 20, 0.002, Map.of("tool-errors", 1.0, "human-overrides", 0.0)));
    windows.record(request("v1", 7, 3, 0, Map.of()));
    windows.recordShadow("v1", false, true);
    now.incrementAndGet();
    windows.record(request("v1", -1, -1, 0.125, Map.of("tool-errors", 2.0, "policy-denials", 0.5)));
    now.addAndGet(2);
    windows.record(request("v1", 1, 1, -1, Map.of("tool-errors", 0.0)));
    windows.record(request("v2", 5, 5, 1, Map.of("other", 3.0)));
    WindowStats inMemory = windows.stats("v1", t0, now.get());
    assertThat(inMemory.requests()).isEqualTo(4);
    assertThat(inMemory.tokensSquared()).isEqualTo(120.0 * 120 + 10 * 10 + 2 * 2);
    assertThat(inMemory.withCost()).isEqualTo(3);
    assertThat(inMemory.costSquared()).isEqualTo(0.002 * 0.002 + 0.125 * 0.125);
    assertThat(inMemory.custom()).containsOnly(
        Map.entry("tool-errors", new MetricMoments(3, 3, 5)),
        Map.entry("human-overrides", new MetricMoments(1, 0, 0)),
        Map.entry("policy-denials", new MetricMoments(1, 0.5, 0.25)));

    windows.flush(store, "replica-1");

    WindowStats stored = VersionWindows.fromRows(store.read("v1", t0));
    assertThat(stored).usingRecursiveComparison().isEqualTo(inMemory);
    assertThat(stored.shadowDifferent()).isEqualTo(1);
    assertThat(VersionWindows.fromRows(store.read("v1", t0 + 1)))
        .usingRecursiveComparison().isEqualTo(windows.stats("v1", t0 + 1, now.get()));
    assertThat(VersionWindows.fromRows(store.read("v2", t0)).custom())
        .containsOnly(Map.entry("other", new MetricMoments(1, 3, 9)));
  }

  @Test
  void oldRowsAndMalformedRowsBesideNewOnes() {
    String old = "{\"second\":" + t0 + ",\"requests\":3,\"errors\":0,\"tokens\":30,\"withUsage\":3,\"costUsd\":0.5,"
        + "\"shadow\":0,\"shadowErrors\":0,\"shadowDifferent\":0,\"latency\":[40,3],\"ttfb\":[]}";
    store.write(List.of(
        new WindowStore.Row("old-replica", "v1", t0, old),
        new WindowStore.Row("broken-replica", "v1", t0, "{\"requests\":1000,")), t0 - 3600);
    windows.record(request("v1", 4, 6, 0.1, Map.of("tool-errors", 1.0)));
    windows.flush(store, "new-replica");

    WindowStats s = VersionWindows.fromRows(store.read("v1", t0));
    assertThat(s.requests()).isEqualTo(4);
    assertThat(s.tokens()).isEqualTo(40);
    assertThat(s.tokensSquared()).isEqualTo(100.0); // the old rows carry none
    assertThat(s.costUsd()).isCloseTo(0.6, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(s.withCost()).isEqualTo(1);
    assertThat(s.custom()).containsOnly(Map.entry("tool-errors", new MetricMoments(1, 1, 1)));
  }
}

package dev.flightdeck.gateway.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.flightdeck.store.gateway.WindowStore;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class VersionWindowsTest {

  static final long T0 = 1_800_000_000L;

  final AtomicLong now = new AtomicLong(T0);
  final VersionWindows windows = new VersionWindows(now::get);

  static RequestRecord request(String version, long prompt, long completion, double cost, Map<String, Double> metrics) {
    return new RequestRecord("agent", version, null, "weight", 200, null, 1_000_000, 2_000_000, 10, 20, prompt,
        completion, -1, cost, false, metrics);
  }

  static RequestRecord request(String version, Map<String, Double> metrics) {
    return request(version, -1, -1, -1, metrics);
  }

  @Test
  void statsCarrySumsOfSquaresOfTokensAndCost() {
    windows.record(request("v1", 10, 5, 0.25, Map.of()));
    windows.record(request("v1", 20, -1, 0, Map.of())); // a cost of 0 is a reported cost
    windows.record(request("v1", -1, -1, -1, Map.of())); // neither usage nor cost
    windows.record(request("v1", -1, -1, Double.POSITIVE_INFINITY, Map.of()));
    WindowStats s = windows.stats("v1", Duration.ofSeconds(10));
    assertThat(s.requests()).isEqualTo(4);
    assertThat(s.withUsage()).isEqualTo(2);
    assertThat(s.tokens()).isEqualTo(35);
    assertThat(s.tokensSquared()).isEqualTo(15.0 * 15 + 20.0 * 20);
    assertThat(s.withCost()).isEqualTo(2);
    assertThat(s.costUsd()).isEqualTo(0.25);
    assertThat(s.costSquared()).isEqualTo(0.0625);
    assertThat(s.costPerRequest()).isEqualTo(0.125);
    assertThat(s.custom()).isEmpty();
    WindowStats none = windows.stats("other", Duration.ofSeconds(10));
    assertThat(none.costPerRequest()).isZero();
    assertThat(none.custom()).isEmpty();
    assertThat(none.metric("tool-errors")).isEqualTo(MetricMoments.EMPTY);
  }

  @Test
  void customMetricsAreCountedPerVersionWithSumAndSumOfSquares() {
    windows.record(request("v1", Map.of("tool-errors", 1.0)));
    windows.record(request("v1", Map.of("tool-errors", 0.0, "human-overrides", 1.0)));
    now.incrementAndGet();
    windows.record(request("v1", Map.of("tool-errors", 2.0)));
    windows.record(request("v1", Map.of()));
    windows.record(request("v2", Map.of("policy-denials", 3.0)));
    WindowStats s = windows.stats("v1", Duration.ofSeconds(10));
    assertThat(s.requests()).isEqualTo(4);
    assertThat(s.custom()).containsOnlyKeys("tool-errors", "human-overrides");
    MetricMoments te = s.metric("tool-errors");
    assertThat(te).isEqualTo(new MetricMoments(3, 3, 5));
    assertThat(te.mean()).isEqualTo(1.0);
    assertThat(te.variance()).isCloseTo(5.0 / 3 - 1, within(1e-12));
    assertThat(s.metric("human-overrides")).isEqualTo(new MetricMoments(1, 1, 1));
    assertThat(windows.stats("v2", Duration.ofSeconds(10)).custom())
        .containsOnly(Map.entry("policy-denials", new MetricMoments(1, 3, 9)));
  }

  @Test
  void atMostSixteenMetricNamesPerVersionAndSecond() {
    for (int i = 0; i < 20; i++) {
      windows.record(request("v1", Map.of("m" + i, 1.0)));
    }
    windows.record(request("v1", Map.of("m0", 1.0, "m19", 1.0)));
    WindowStats first = windows.stats("v1", T0, T0);
    assertThat(first.custom()).hasSize(16).containsKeys("m0", "m15").doesNotContainKeys("m16", "m19");
    assertThat(first.metric("m0").count()).isEqualTo(2);
    // The bound is per second: the next second takes new names, and a window sums both.
    now.incrementAndGet();
    windows.record(request("v1", Map.of("m19", 1.0)));
    assertThat(windows.stats("v1", T0, T0 + 1).custom()).hasSize(17).containsEntry("m19", new MetricMoments(1, 1, 1));
  }

  @Test
  void aReusedSecondStartsWithoutTheMetricsOfTheSecondBefore() {
    windows.record(request("v1", Map.of("tool-errors", 1.0)));
    now.addAndGet(VersionWindows.SECONDS); // the same slot in the ring
    windows.record(request("v1", Map.of("policy-denials", 1.0)));
    assertThat(windows.stats("v1", Duration.ofMinutes(10)).custom()).containsOnlyKeys("policy-denials");
  }

  @Test
  void rangeQueriesAreInclusiveAndSecondsOlderThanTheRingAreAbsent() {
    for (int s = 0; s < 3; s++) {
      for (int i = 0; i <= s; i++) {
        windows.record(request("v1", Map.of("n", 1.0)));
      }
      now.incrementAndGet();
    }
    now.decrementAndGet(); // now = T0 + 2; T0 had 1 request, T0+1 had 2, T0+2 had 3
    assertThat(windows.stats("v1", T0, T0).requests()).isEqualTo(1);
    assertThat(windows.stats("v1", T0 + 1, T0 + 2).requests()).isEqualTo(5);
    assertThat(windows.stats("v1", T0, T0 + 2).metric("n").count()).isEqualTo(6);
    assertThat(windows.stats("v1", T0 + 3, T0 + 100).requests()).isZero();
    assertThat(windows.stats("v1", T0 + 2, T0).requests()).isZero();
    assertThat(windows.stats("v1", Long.MIN_VALUE, Long.MAX_VALUE).requests()).isEqualTo(6);
    assertThat(windows.stats("v1", Duration.ofSeconds(2)).requests()).isEqualTo(5);
    assertThat(windows.stats("v1", Duration.ofSeconds(2)))
        .usingRecursiveComparison().isEqualTo(windows.stats("v1", T0 + 1, T0 + 2));
    now.set(T0 + VersionWindows.SECONDS); // T0 has left the ring
    assertThat(windows.stats("v1", T0, T0 + 2).requests()).isEqualTo(5);
    now.set(T0 + VersionWindows.SECONDS + 1);
    assertThat(windows.stats("v1", 0, Long.MAX_VALUE).requests()).isEqualTo(3);
  }

  @Test
  void rowsWrittenBeforeTheNewFieldsStillRead() {
    String old = "{\"second\":" + T0 + ",\"requests\":3,\"errors\":1,\"tokens\":30,\"withUsage\":2,\"costUsd\":0.5,"
        + "\"shadow\":1,\"shadowErrors\":0,\"shadowDifferent\":1,\"latency\":[40,3],\"ttfb\":[30,2]}";
    WindowStats s = VersionWindows.fromRows(List.of(new WindowStore.Row("r1", "v1", T0, old)));
    assertThat(s.requests()).isEqualTo(3);
    assertThat(s.errors()).isEqualTo(1);
    assertThat(s.tokens()).isEqualTo(30);
    assertThat(s.costUsd()).isEqualTo(0.5);
    assertThat(s.shadowDifferent()).isEqualTo(1);
    assertThat(s.latency().total()).isEqualTo(3);
    assertThat(s.tokensSquared()).isZero();
    assertThat(s.withCost()).isZero();
    assertThat(s.costSquared()).isZero();
    assertThat(s.costPerRequest()).isZero();
    assertThat(s.custom()).isEmpty();
  }

  @Test
  void aMalformedRowIsSkippedAndTheOthersStillCount() {
    String good = "{\"requests\":2,\"tokens\":4,\"custom\":{\"tool-errors\":[2,1.0,1.0]}}";
    List<WindowStore.Row> rows = List.of(
        new WindowStore.Row("r1", "v1", T0, good),
        new WindowStore.Row("r2", "v1", T0, "{\"requests\":"),
        new WindowStore.Row("r3", "v1", T0, "[1,2,3]"),
        new WindowStore.Row("r4", "v1", T0, "\"text\""),
        new WindowStore.Row("r5", "v1", T0, ""),
        new WindowStore.Row("r6", "v1", T0, null),
        new WindowStore.Row("r7", "v1", T0, "{\"requests\":100,\"custom\":{\"tool-errors\":[-1,0,0]}}"),
        new WindowStore.Row("r8", "v1", T0, "{\"requests\":100,\"custom\":{\"tool-errors\":[1,\"x\",0]}}"),
        new WindowStore.Row("r9", "v1", T0, "{\"requests\":100,\"custom\":[1]}"),
        new WindowStore.Row("r10", "v1", T0 + 1, good));
    WindowStats s = VersionWindows.fromRows(rows);
    assertThat(s.requests()).isEqualTo(4);
    assertThat(s.tokens()).isEqualTo(8);
    assertThat(s.custom()).containsOnly(Map.entry("tool-errors", new MetricMoments(4, 2, 2)));
  }

  @Test
  void statsCustomMapIsImmutable() {
    windows.record(request("v1", new HashMap<>(Map.of("tool-errors", 1.0))));
    WindowStats s = windows.stats("v1", Duration.ofSeconds(1));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.custom().put("x", MetricMoments.EMPTY))
        .isInstanceOf(UnsupportedOperationException.class);
  }
}

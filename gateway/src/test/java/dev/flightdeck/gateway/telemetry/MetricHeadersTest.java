package dev.flightdeck.gateway.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Json;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class MetricHeadersTest {

  private static Map<String, Double> add(Map<String, Double> m, String name, String value) {
    return MetricHeaders.add(m, name, value);
  }

  @Test
  void aMetricHeaderIsOneObservationUnderItsLowerCaseName() {
    Map<String, Double> none = Map.of();
    Map<String, Double> m = add(none, "x-flightdeck-metric-tool-errors", "2");
    assertThat(m).containsExactly(Map.entry("tool-errors", 2.0));
    m = add(m, "x-flightdeck-metric-latency.p_ms", " -1.5e2 ");
    m = add(m, "x-flightdeck-metric-tool-errors", "1");
    assertThat(m).containsOnly(Map.entry("tool-errors", 3.0), Map.entry("latency.p_ms", -150.0));
  }

  @Test
  void otherHeadersLeaveTheEmptyMapAsItIs() {
    Map<String, Double> none = Map.of();
    assertThat(add(none, "content-type", "1")).isSameAs(none);
    assertThat(add(none, "x-flightdeck-usage", "1")).isSameAs(none);
    assertThat(add(none, "x-flightdeck-metrics-x", "1")).isSameAs(none);
  }

  @Test
  void hostileValuesAreIgnored() {
    Map<String, Double> none = Map.of();
    for (String v : new String[] {"NaN", "Infinity", "-Infinity", "1e309", "-1e309", "1e16", "1.0000001e15", "0x1p3",
        "1d", "1f", "", "   ", "1,2", "1 2", "--1", "1e", ".", "e5", "١", "１", "1".repeat(65), "9".repeat(100_000)}) {
      assertThat(add(none, "x-flightdeck-metric-tool-errors", v)).as("value %s", v.length() > 20 ? v.length() + " digits" : v)
          .isSameAs(none);
    }
    assertThat(add(none, "x-flightdeck-metric-tool-errors", null)).isSameAs(none);
    assertThat(add(none, "x-flightdeck-metric-big", "1e15")).containsEntry("big", 1e15);
    assertThat(add(none, "x-flightdeck-metric-small", "-1e15")).containsEntry("small", -1e15);
    // A repeat whose sum would leave the bounds is dropped; the first value stays.
    assertThat(add(add(none, "x-flightdeck-metric-big", "1e15"), "x-flightdeck-metric-big", "1")).containsEntry("big", 1e15);
  }

  @Test
  void hostileNamesAreIgnored() {
    Map<String, Double> none = Map.of();
    for (String n : new String[] {"x-flightdeck-metric-", "x-flightdeck-metric-tööl", "x-flightdeck-metric-\u212Aey",
        "x-flightdeck-metric-a b", "x-flightdeck-metric-a/b", "x-flightdeck-metric-a:b", "x-flightdeck-metric-Tool",
        "x-flightdeck-metric-" + "a".repeat(65), "X-Flightdeck-Metric-tool", "x-flightdeck-metric-\u0000"}) {
      assertThat(add(none, n, "1")).as(n).isSameAs(none);
    }
    assertThat(add(none, "x-flightdeck-metric-" + "a".repeat(64), "1")).containsKey("a".repeat(64));
  }

  @Test
  void atMostSixteenNamesPerResponse() {
    Map<String, Double> m = Map.of();
    for (int i = 0; i < 20; i++) {
      m = add(m, "x-flightdeck-metric-m" + i, "1");
    }
    assertThat(m).hasSize(MetricHeaders.MAX_METRICS).containsKeys("m0", "m15").doesNotContainKey("m16");
    // A name already there still adds up.
    assertThat(add(m, "x-flightdeck-metric-m0", "1")).containsEntry("m0", 2.0);
  }

  @Property(tries = 1000)
  void whateverTheUpstreamSendsWhatIsKeptIsBounded(@ForAll String suffix, @ForAll String value) {
    Map<String, Double> m = add(Map.of(), "x-flightdeck-metric-" + suffix, value);
    assertThat(m.size()).isLessThanOrEqualTo(1);
    m.forEach((k, v) -> {
      assertThat(k).matches("[a-z0-9._-]{1,64}");
      assertThat(v).isFinite();
      assertThat(Math.abs(v)).isLessThanOrEqualTo(MetricHeaders.MAX_VALUE);
    });
  }

  @Test
  void momentsGiveMeanAndPopulationVariance() {
    assertThat(MetricMoments.EMPTY.mean()).isZero();
    assertThat(MetricMoments.EMPTY.variance()).isZero();
    assertThat(new MetricMoments(1, 5, 25).variance()).isZero();
    MetricMoments m = new MetricMoments(3, 1 + 2 + 3, 1 + 4 + 9);
    assertThat(m.mean()).isEqualTo(2.0);
    assertThat(m.variance()).isCloseTo(2.0 / 3, org.assertj.core.data.Offset.offset(1e-12));
    // The same value three times: rounding must not make the variance negative.
    assertThat(new MetricMoments(3, 0.1 + 0.1 + 0.1, 0.01 + 0.01 + 0.01).variance()).isGreaterThanOrEqualTo(0);
    assertThatThrownBy(() -> new MetricMoments(-1, 0, 0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theAccessLogLineCarriesTheMetrics() {
    RequestRecord r = new RequestRecord("a", "v1", null, "weight", 200, null, 1000, 2000, 1, 2, -1, -1, -1, -1, false,
        Map.of("tool-errors", 2.0));
    JsonNode line = Json.read(r.toJson());
    assertThat(line.path("metrics").path("tool-errors").asDouble()).isEqualTo(2.0);
    RequestRecord none = new RequestRecord("a", "v1", null, "weight", 200, null, 1000, 2000, 1, 2, -1, -1, -1, -1,
        false, Map.of());
    assertThat(Json.read(none.toJson()).path("metrics").size()).isZero();
  }
}

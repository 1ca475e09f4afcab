package dev.flightdeck.rollout.analysis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.flightdeck.gateway.telemetry.LatencyHistogram;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Scale;
import org.junit.jupiter.api.Test;

class HistogramsTest {

  @Test
  void bucketsTileTheLine() {
    for (int b = 1; b < LatencyHistogram.BUCKETS; b++) {
      assertThat(Histograms.low(b)).isEqualTo(Histograms.low(b - 1) + Histograms.width(b - 1));
      assertThat(LatencyHistogram.bucketOf(Histograms.low(b))).isEqualTo(b);
    }
  }

  @Test
  void quantile_interpolatesInsideTheBucket() {
    // 1000 µs falls in the bucket [896, 1024).
    LatencyHistogram h = new LatencyHistogram();
    for (int i = 0; i < 100; i++) {
      h.record(1000);
    }
    assertThat(Histograms.low(LatencyHistogram.bucketOf(1000))).isEqualTo(896);
    assertThat(Histograms.quantile(h, 0.5)).isCloseTo(960, within(1e-9));
    assertThat(Histograms.quantile(h, 0.25)).isCloseTo(928, within(1e-9));
    assertThat(Histograms.shareAbove(h, 960)).isCloseTo(0.5, within(1e-12));
    assertThat(Histograms.shareAbove(h, 800)).isEqualTo(1);
    assertThat(Histograms.shareAbove(h, 1024)).isEqualTo(0);
  }

  @Test
  void quantile_ofAnEmptyHistogramIsZero_andOfLevelOneIsUnbounded() {
    LatencyHistogram h = new LatencyHistogram();
    assertThat(Histograms.quantile(h, 0.95)).isZero();
    assertThat(Histograms.shareAbove(h, 5)).isZero();
    h.record(10);
    assertThat(Histograms.quantile(h, 1)).isInfinite();
    assertThat(Histograms.quantile(h, 0)).isZero();
    assertThat(Histograms.shareAbove(h, Double.POSITIVE_INFINITY)).isZero();
  }

  @Test
  void quantile_isWithinABucketOfTheTrueLognormalQuantile() {
    LatencyHistogram h = TestArm.latencies(3, 200_000, 400, 0.5, 1).latency();
    double p95 = 400_000 * Math.exp(0.5 * 1.6448536269514722);
    assertThat(Histograms.quantile(h, 0.95)).isCloseTo(p95, within(0.01 * p95));
    assertThat(Histograms.shareAbove(h, p95)).isCloseTo(0.05, within(0.002));
  }

  @Property(tries = 200)
  void shareAboveInvertsQuantile(@ForAll long seed, @ForAll @IntRange(min = 1, max = 5000) int n,
      @ForAll @DoubleRange(min = 0.001, max = 0.999) @Scale(6) double p) {
    SplittableRandom rng = new SplittableRandom(seed);
    LatencyHistogram h = new LatencyHistogram();
    for (int i = 0; i < n; i++) {
      h.record((long) Math.exp(rng.nextDouble() * 20));
    }
    assertThat(Histograms.shareAbove(h, Histograms.quantile(h, p))).isCloseTo(1 - p, within(1e-9));
  }
}

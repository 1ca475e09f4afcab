package dev.flightdeck.gateway.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class TelemetryTest {

  private static Usage scan(String contentType, String... chunks) {
    UsageScanner s = UsageScanner.forContentType(contentType);
    for (String c : chunks) {
      s.accept(ByteBuffer.wrap(c.getBytes(StandardCharsets.UTF_8)));
    }
    return s.result();
  }

  @Test
  void usageFromJsonBodiesSseStreamsAndHeaders() {
    Usage json = scan("application/json", "{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"u\\\"sage\"}}],",
        "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"prompt_tokens_details\":{\"cached_tokens\":4}}}");
    assertThat(json).isEqualTo(new Usage(10, 5, 4, -1));
    Usage responses = scan("application/json; charset=utf-8",
        "{\"response\":{\"usage\":{\"input_tokens\":7,\"output_tokens\":2}}}");
    assertThat(responses.promptTokens()).isEqualTo(7);
    assertThat(responses.completionTokens()).isEqualTo(2);
    Usage sse = scan("text/event-stream", "data: {\"choices\":[{\"delta\":{}}]}\n\nda", "ta: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,",
        "\"completion_tokens\":9}}\r\n\r\ndata: [DONE]\n\n");
    assertThat(sse).isEqualTo(new Usage(3, 9, -1, -1));
    assertThat(Usage.fromUsageObject("{\"prompt_tokens\":1,\"completion_tokens\":2,\"cost\":0.5}").costUsd()).isEqualTo(0.5);
    assertThat(scan("application/json", "not json").known()).isFalse();
    assertThat(UsageScanner.forContentType("text/html")).isNull();
  }

  @Test
  void oversizedJsonIsNotKeptInMemory() {
    UsageScanner s = UsageScanner.forContentType("application/json");
    byte[] big = new byte[UsageScanner.MAX_JSON + 1];
    s.accept(ByteBuffer.wrap(big));
    assertThat(s.result()).isEqualTo(Usage.NONE);
  }

  @Property(tries = 500)
  void hostileBytesNeverThrow(@ForAll byte[] bytes, @ForAll boolean sse) {
    UsageScanner s = UsageScanner.forContentType(sse ? "text/event-stream" : "application/json");
    s.accept(ByteBuffer.wrap(bytes));
    assertThat(s.result()).isNotNull();
    assertThat(Usage.fromUsageObject(new String(bytes, StandardCharsets.ISO_8859_1))).isNotNull();
  }

  @Test
  void histogramQuantilesAreWithinTheirBucketError() {
    Random r = new Random(7);
    LatencyHistogram h = new LatencyHistogram();
    long[] values = new long[100_000];
    for (int i = 0; i < values.length; i++) {
      values[i] = (long) Math.exp(r.nextGaussian() * 1.5 + 8); // log-normal around 3 ms
      h.record(values[i]);
    }
    java.util.Arrays.sort(values);
    for (double q : new double[] {0.5, 0.9, 0.99, 0.999}) {
      long exact = values[(int) Math.ceil(q * values.length) - 1];
      assertThat((double) h.quantile(q)).as("q%s", q).isBetween(exact * 0.99, exact * 1.26);
    }
    for (long v = 0; v < 1_000_000; v += 997) {
      assertThat(LatencyHistogram.upperBound(LatencyHistogram.bucketOf(v))).isGreaterThanOrEqualTo(v);
    }
  }

  @Test
  void windowsSumTheLastSecondsAndCountErrors() {
    VersionWindows w = new VersionWindows();
    for (int i = 0; i < 100; i++) {
      w.record(new RequestRecord("a", "v1", null, "weight", i < 5 ? 502 : 200, i < 5 ? "upstream_reset" : null,
          1_000_000, 2_000_000, 10, 20, 10, 5, -1, 0.001, false, java.util.Map.of()));
    }
    w.record(new RequestRecord("a", "v1", null, "weight", 429, "overloaded", -1, 1000, 0, 0, -1, -1, -1, -1, false, java.util.Map.of()));
    WindowStats s = w.stats("v1", java.time.Duration.ofSeconds(30));
    assertThat(s.requests()).isEqualTo(101);
    assertThat(s.errors()).isEqualTo(5);
    assertThat(s.tokens()).isEqualTo(1500);
    assertThat(s.tokensPerRequest()).isEqualTo(15.0);
    assertThat(s.latency().quantile(0.5)).isBetween(2000L, 2500L);
    assertThat(w.stats("other", java.time.Duration.ofSeconds(30)).requests()).isZero();
  }
}

package dev.flightdeck.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TraceparentTest {

  @Test
  void continuesValidTracesAndStartsNewOnesOtherwise() {
    String in = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    String next = Traceparent.next(in);
    assertThat(Traceparent.valid(next)).isTrue();
    assertThat(Traceparent.traceId(next)).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
    assertThat(next).endsWith("-01").isNotEqualTo(in);
    for (String bad : new String[] {null, "", "garbage", in.toUpperCase(), "ff" + in.substring(2),
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", in.replace('-', '_')}) {
      String fresh = Traceparent.next(bad);
      assertThat(Traceparent.valid(fresh)).as("from %s", bad).isTrue();
      assertThat(fresh).doesNotContain("4bf92f3577b34da6a3ce929d0e0e4736");
    }
  }
}

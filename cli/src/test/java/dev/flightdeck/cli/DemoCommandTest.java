package dev.flightdeck.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The demo's pure parts: which ports it takes, and the examples rewritten to them. */
class DemoCommandTest {

  @Test
  void rewritesOnlyTheLocalPortsThatMoved() {
    String yaml = """
        endpoints:
          - url: http://127.0.0.1:9101
          - url: http://127.0.0.1:91011/x
        baseUrl: http://127.0.0.1:8089/v1
        other: http://10.0.0.1:9101
        """;

    String out = DemoCommand.rewrite(yaml, Map.of(9101, 40001, 8089, 40002));

    assertThat(out).contains("url: http://127.0.0.1:40001\n", "url: http://127.0.0.1:91011/x",
        "baseUrl: http://127.0.0.1:40002/v1", "other: http://10.0.0.1:9101");
  }

  @Test
  void takesThePreferredPortWhenFree_anotherWhenSomethingListensOnIt() throws Exception {
    try (ServerSocket busy = new ServerSocket()) {
      busy.bind(new InetSocketAddress("127.0.0.1", 0));
      int taken = busy.getLocalPort();
      int free;
      try (ServerSocket probe = new ServerSocket()) {
        probe.bind(new InetSocketAddress("127.0.0.1", 0));
        free = probe.getLocalPort();
      }
      DemoPorts ports = new DemoPorts();

      int a = ports.choose("a", taken);
      int b = ports.choose("b", free);
      int c = ports.choose("c", free);

      assertThat(a).isNotEqualTo(taken).isPositive();
      assertThat(b).isEqualTo(free);
      assertThat(c).as("never the same port twice").isNotIn(a, b);
      assertThat(ports.all()).extracting(DemoPorts.Port::moved).containsExactly(true, false, true);
    }
  }
}

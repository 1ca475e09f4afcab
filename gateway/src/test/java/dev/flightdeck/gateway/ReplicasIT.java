package dev.flightdeck.gateway;

import static dev.flightdeck.gateway.GatewayFixture.agent;
import static dev.flightdeck.gateway.GatewayFixture.version;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.flightdeck.store.Database;
import dev.flightdeck.store.TestDatabases;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two gateway replicas on one PostgreSQL, each with its own connection pool, store and gateway,
 * as two processes would have: routing changes reach the other replica within a second, session
 * pins are shared, and telemetry windows add up in the store.
 */
class ReplicasIT {

  GatewayFixture one;
  GatewayFixture two;
  TestUpstream a;
  TestUpstream b;

  @BeforeEach
  void setUp() throws Exception {
    String url = TestDatabases.freshPostgresUrl();
    one = new GatewayFixture(Database.postgres(url), "replica-1");
    two = new GatewayFixture(Database.postgres(url), "replica-2");
    a = new TestUpstream("a");
    b = new TestUpstream("b");
  }

  @AfterEach
  void tearDown() throws Exception {
    one.close();
    two.close();
    a.close();
    b.close();
  }

  private void weights(GatewayFixture via, int weightA, int weightB) {
    via.store(agent("triage", "[{version: triage-a, weight: %d}, {version: triage-b, weight: %d}]"
            .formatted(weightA, weightB), "")
        + version("triage", "triage-a", a.url(), "")
        + version("triage", "triage-b", b.url(), ""));
  }

  private String versionVia(GatewayFixture fx, String... headers) throws Exception {
    return fx.get("/agents/triage/echo", headers).headers().firstValue("X-Flightdeck-Version").orElse("none");
  }

  @Test
  void aRoutingChangeOnOneReplicaReachesTheOtherWithinASecond() throws Exception {
    weights(one, 100, 0);
    await().atMost(Duration.ofSeconds(2)).until(() -> versionVia(two).equals("triage-a"));
    long start = System.nanoTime();
    weights(one, 0, 100);
    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(10))
        .until(() -> versionVia(two).equals("triage-b"));
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(1));
  }

  @Test
  void aSessionPinnedOnOneReplicaStaysOnItsVersionOnTheOther() throws Exception {
    weights(one, 100, 0);
    one.gateway.reload();
    for (int i = 0; i < 20; i++) {
      assertThat(versionVia(one, "X-Flightdeck-Session", "conv-" + i)).isEqualTo("triage-a");
    }
    one.gateway.flush();
    weights(one, 0, 100);
    await().atMost(Duration.ofSeconds(2)).until(() -> versionVia(two).equals("triage-b"));
    for (int i = 0; i < 20; i++) {
      assertThat(versionVia(two, "X-Flightdeck-Session", "conv-" + i)).as("conv-" + i).isEqualTo("triage-a");
    }
    assertThat(versionVia(two, "X-Flightdeck-Session", "conv-new")).isEqualTo("triage-b");
  }

  @Test
  void telemetryWindowsOfBothReplicasAddUpInTheStore() throws Exception {
    weights(one, 100, 0);
    one.gateway.reload();
    two.gateway.reload();
    for (int i = 0; i < 7; i++) {
      versionVia(one);
    }
    for (int i = 0; i < 5; i++) {
      versionVia(two);
    }
    one.gateway.flush();
    two.gateway.flush();
    assertThat(one.gateway.stats("triage-a", Duration.ofMinutes(1)).requests()).isEqualTo(7);
    assertThat(two.gateway.stats("triage-a", Duration.ofMinutes(1)).requests()).isEqualTo(5);
    assertThat(one.gateway.storedStats("triage-a", Duration.ofMinutes(1)).requests()).isEqualTo(12);
    assertThat(two.gateway.storedStats("triage-a", Duration.ofMinutes(1)).requests()).isEqualTo(12);
  }
}

package dev.flightdeck.gateway.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class AdmissionAndBreakerTest {

  private final ScheduledExecutorScheduler scheduler = new ScheduledExecutorScheduler("test", true);

  AdmissionAndBreakerTest() throws Exception {
    scheduler.start();
  }

  @AfterEach
  void stop() throws Exception {
    scheduler.stop();
  }

  @Test
  void gateAdmitsUpToTheLimitQueuesThenRejects() {
    AdmissionGate gate = new AdmissionGate(2, 1, Duration.ofSeconds(10).toNanos(), scheduler);
    List<String> events = new CopyOnWriteArrayList<>();
    for (int i = 0; i < 4; i++) {
      int n = i;
      gate.acquire(w -> events.add("admitted " + n), () -> events.add("rejected " + n));
    }
    assertThat(events).containsExactly("admitted 0", "admitted 1", "rejected 3");
    assertThat(gate.queued()).isEqualTo(1);
    gate.release();
    assertThat(events).contains("admitted 2");
    assertThat(gate.queued()).isZero();
    assertThat(gate.inFlight()).isEqualTo(2);
    gate.release();
    gate.release();
    assertThat(gate.inFlight()).isZero();
  }

  @Test
  void waitersTimeOut() {
    AdmissionGate gate = new AdmissionGate(1, 5, Duration.ofMillis(50).toNanos(), scheduler);
    AtomicInteger rejected = new AtomicInteger();
    gate.acquire(w -> { }, rejected::incrementAndGet);
    gate.acquire(w -> { }, rejected::incrementAndGet);
    await().atMost(Duration.ofSeconds(2)).until(() -> rejected.get() == 1);
    assertThat(gate.queued()).isZero();
    gate.release();
    assertThat(gate.inFlight()).isZero();
  }

  @Test
  void concurrentUseNeverExceedsTheLimitOrLosesASlot() throws Exception {
    AdmissionGate gate = new AdmissionGate(4, 1000, Duration.ofSeconds(30).toNanos(), scheduler);
    AtomicInteger inside = new AtomicInteger();
    AtomicInteger max = new AtomicInteger();
    AtomicInteger done = new AtomicInteger();
    Thread[] threads = new Thread[8];
    for (int t = 0; t < threads.length; t++) {
      threads[t] = Thread.ofPlatform().start(() -> {
        for (int i = 0; i < 2000; i++) {
          gate.acquire(w -> {
            max.accumulateAndGet(inside.incrementAndGet(), Math::max);
            inside.decrementAndGet();
            done.incrementAndGet();
            gate.release();
          }, () -> { });
        }
      });
    }
    for (Thread t : threads) {
      t.join();
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> done.get() == 16_000);
    assertThat(max.get()).isLessThanOrEqualTo(4);
    assertThat(gate.inFlight()).isZero();
    assertThat(gate.queued()).isZero();
  }

  @Test
  void breakerOpensAfterFailuresInARowThenProbes() throws Exception {
    CircuitBreaker b = new CircuitBreaker(3, Duration.ofMillis(100).toNanos());
    for (int i = 0; i < 2; i++) {
      assertThat(b.tryAcquire()).isTrue();
      b.record(true);
    }
    b.record(false); // a success resets the count
    for (int i = 0; i < 3; i++) {
      assertThat(b.tryAcquire()).isTrue();
      b.record(true);
    }
    assertThat(b.state()).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(b.tryAcquire()).isFalse();
    Thread.sleep(120);
    assertThat(b.tryAcquire()).as("the half-open probe").isTrue();
    assertThat(b.tryAcquire()).as("only one probe").isFalse();
    b.record(true);
    assertThat(b.state()).isEqualTo(CircuitBreaker.State.OPEN);
    Thread.sleep(120);
    assertThat(b.tryAcquire()).isTrue();
    b.record(false);
    assertThat(b.state()).isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(b.tryAcquire()).isTrue();
  }

  @Test
  void balancerPrefersFewerInFlightAndEjectsFailingReplicas() {
    Endpoint a = new Endpoint("http://127.0.0.1:1");
    Endpoint c = new Endpoint("http://127.0.0.1:2");
    Balancer bal = new Balancer(List.of(a, c), 2, Duration.ofMinutes(1).toNanos(), 50);
    Endpoint busy = bal.acquire(null);
    for (int i = 0; i < 50; i++) {
      Endpoint e = bal.acquire(null);
      assertThat(e).isNotSameAs(busy);
      bal.release(e, false);
    }
    bal.release(busy, false);
    Endpoint bad = bal.acquire(null);
    bal.release(bad, true);
    bal.release(bal.acquire(bad), false);
    Endpoint again = bad;
    again.begin();
    bal.release(again, true);
    assertThat(bad.ejected(System.nanoTime())).isTrue();
    for (int i = 0; i < 50; i++) {
      Endpoint e = bal.acquire(null);
      assertThat(e).isNotSameAs(bad);
      bal.release(e, false);
    }
    // Never more than maxEjectedPercent: the other one cannot be ejected too.
    Endpoint good = bad == a ? c : a;
    for (int i = 0; i < 5; i++) {
      good.begin();
      bal.release(good, true);
    }
    assertThat(good.ejected(System.nanoTime())).isFalse();
  }
}

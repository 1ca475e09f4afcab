package dev.flightdeck.store.budget;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Group commit: what queues while the store is busy goes in one store call, and every waiter gets its own outcome. */
class StoreBatchesTest {

  private final Semaphore slot = new Semaphore(1);
  private final List<List<String>> calls = new CopyOnWriteArrayList<>();
  private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();

  @AfterEach
  void stop() {
    threads.shutdownNow();
  }

  /** Items are "key:n"; the outcome is the item upper-cased; the key must be distinct in a call. */
  private StoreBatches<String, String> batches(RuntimeException failWith) {
    return new StoreBatches<>(slot, 4, item -> item.substring(0, item.indexOf(':')), items -> {
      calls.add(List.copyOf(items));
      if (failWith != null) {
        throw failWith;
      }
      return items.stream().map(String::toUpperCase).toList();
    });
  }

  @Test
  void whatQueuesWhileTheSlotIsTaken_goesInBatches_ofDistinctKeys_atMostMaxBatchEach() throws Exception {
    StoreBatches<String, String> b = batches(null);
    assertThat(b.submit("a:0", -1)).as("an idle store: a batch of one").isEqualTo("A:0");
    slot.acquire(); // the store is busy
    List<String> items = List.of("a:1", "b:1", "a:2", "c:1", "d:1", "e:1");
    List<Future<String>> outcomes = new ArrayList<>();
    for (String item : items) {
      outcomes.add(threads.submit(() -> b.submit(item, TimeUnit.SECONDS.toNanos(30))));
      await().atMost(Duration.ofSeconds(10)).until(() -> b.waiting() == outcomes.size()); // in this order
    }
    slot.release();
    for (int i = 0; i < items.size(); i++) {
      assertThat(outcomes.get(i).get(10, TimeUnit.SECONDS)).isEqualTo(items.get(i).toUpperCase());
    }
    // The first thread to get the slot takes 4 (the most per batch): a:2 repeats a key, so it goes
    // in a call of its own; the next thread takes the 2 left.
    assertThat(calls).containsExactly(List.of("a:0"), List.of("a:1", "b:1", "c:1"), List.of("a:2"),
        List.of("d:1", "e:1"));
    assertThat(b.batches()).isEqualTo(4);
    assertThat(b.waiting()).isZero();
  }

  @Test
  void aFailingStoreCall_failsEveryItemOfItsBatch_andTheNextBatchRunsAgain() throws Exception {
    IllegalStateException down = new IllegalStateException("store down");
    StoreBatches<String, String> b = batches(down);
    slot.acquire();
    Future<String> one = threads.submit(() -> b.submit("a:1", -1));
    await().atMost(Duration.ofSeconds(10)).until(() -> b.waiting() == 1);
    Future<String> two = threads.submit(() -> b.submit("b:1", -1));
    await().atMost(Duration.ofSeconds(10)).until(() -> b.waiting() == 2);
    slot.release();
    for (Future<String> f : List.of(one, two)) {
      assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class).cause()
          .isSameAs(down);
    }
    assertThat(calls).containsExactly(List.of("a:1", "b:1"));
    assertThatThrownBy(() -> b.submit("c:1", -1)).isSameAs(down);
  }

  @Test
  void noSlotWithinTheWait_isBusy_andLeavesNothingQueued() throws Exception {
    StoreBatches<String, String> b = batches(null);
    slot.acquire();
    assertThatThrownBy(() -> b.submit("a:1", TimeUnit.MILLISECONDS.toNanos(50)))
        .isInstanceOf(BudgetLeases.Busy.class).hasMessageContaining("no answer slot within 50 ms");
    assertThat(b.waiting()).isZero();
    slot.release();
    assertThat(b.submit("b:1", 0)).isEqualTo("B:1");
    assertThat(calls).containsExactly(List.of("b:1"));
  }
}

package dev.flightdeck.store.budget;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * Store operations of many threads, run a batch at a time (group commit, leader and followers):
 * a thread queues its item, then waits for one of the store's slots; the thread that gets one
 * runs every item queued by then, its own among them, as one store call, and the others find
 * theirs done. When the store is idle a batch is one item and costs what a call on its own did;
 * when it is busy, the items that queue while it works go together, so a burst of a thousand costs
 * a few store calls instead of a thousand in a row, and no thread waits longer than a statement
 * or two behind the others.
 *
 * @param <T> what to do
 * @param <R> its outcome
 */
final class StoreBatches<T, R> {

  private final Queue<Item<T, R>> queued = new ConcurrentLinkedQueue<>();
  private final Semaphore slots;
  private final int maxBatch;
  private final Function<T, Object> distinctBy;
  private final Function<List<T>, List<R>> run;
  private final LongAdder batches = new LongAdder();

  /**
   * @param slots store calls at once (shared with whoever else uses them)
   * @param maxBatch the most items in one store call
   * @param distinctBy items with equal values of it never go into one store call
   * @param run the store call: one outcome per item, in order
   */
  StoreBatches(Semaphore slots, int maxBatch, Function<T, Object> distinctBy, Function<List<T>, List<R>> run) {
    this.slots = slots;
    this.maxBatch = maxBatch;
    this.distinctBy = distinctBy;
    this.run = run;
  }

  /**
   * Runs {@code item} in the next batch and returns its outcome, or rethrows what its batch's
   * store call threw.
   *
   * @param waitNanos how long to wait for a slot; negative waits as long as it takes
   * @throws BudgetLeases.Busy when no slot freed within the wait and no other thread took the item
   */
  R submit(T item, long waitNanos) {
    Item<T, R> mine = new Item<>(item);
    queued.add(mine);
    boolean got = false;
    boolean interrupted = false;
    try {
      if (waitNanos < 0) {
        slots.acquireUninterruptibly();
        got = true;
      } else {
        got = slots.tryAcquire(waitNanos, TimeUnit.NANOSECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      interrupted = true;
    }
    if (!got) {
      if (queued.remove(mine)) {
        throw interrupted ? BudgetLeases.Busy.interrupted() : BudgetLeases.Busy.noSlotWithin(waitNanos);
      }
      return mine.outcome(); // another thread's batch has it
    }
    try {
      while (!mine.result.isDone()) {
        List<Item<T, R>> batch = new ArrayList<>();
        for (Item<T, R> q; batch.size() < maxBatch && (q = queued.poll()) != null; ) {
          batch.add(q);
        }
        if (batch.isEmpty()) {
          break; // another thread's batch has it
        }
        runAll(batch);
      }
    } finally {
      slots.release();
      if (!mine.result.isDone() && queued.remove(mine)) { // only after an Error in another batch
        mine.result.completeExceptionally(new BudgetLeases.Busy("the budget store failed while this waited"));
      }
    }
    return mine.outcome();
  }

  /** Store calls made so far. */
  long batches() {
    return batches.sum();
  }

  /** Items waiting for a store call now. */
  int waiting() {
    return queued.size();
  }

  /** Runs {@code batch}: as many store calls as it takes to keep each one's items distinct. */
  private void runAll(List<Item<T, R>> batch) {
    while (!batch.isEmpty()) {
      List<Item<T, R>> distinct = new ArrayList<>(batch.size());
      List<Item<T, R>> again = new ArrayList<>();
      Set<Object> seen = new HashSet<>();
      for (Item<T, R> q : batch) {
        (seen.add(distinctBy.apply(q.what)) ? distinct : again).add(q);
      }
      try {
        batches.increment();
        List<R> outcomes = run.apply(distinct.stream().map(q -> q.what).toList());
        for (int i = 0; i < distinct.size(); i++) {
          distinct.get(i).result.complete(outcomes.get(i));
        }
      } catch (RuntimeException | Error e) {
        batch.forEach(q -> q.result.completeExceptionally(e)); // every waiter learns, none waits forever
        if (e instanceof Error) {
          throw e;
        }
        return;
      }
      batch = again;
    }
  }

  private static final class Item<T, R> {
    final T what;
    final CompletableFuture<R> result = new CompletableFuture<>();

    Item(T what) {
      this.what = what;
    }

    /** Waits for the batch that has it; rethrows what that batch's store call threw. */
    R outcome() {
      try {
        return result.join();
      } catch (CompletionException e) {
        if (e.getCause() instanceof Error err) {
          throw err;
        }
        throw e.getCause() instanceof RuntimeException r ? r : e;
      }
    }
  }
}

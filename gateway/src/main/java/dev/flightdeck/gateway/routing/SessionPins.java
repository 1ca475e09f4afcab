package dev.flightdeck.gateway.routing;

import dev.flightdeck.store.gateway.SessionPin;
import dev.flightdeck.store.gateway.SessionPinStore;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Session pins with a cache in front of the store. A new pin is cached at once and written by
 * a background writer in batches (every 20 ms at most), so the request that creates a session
 * does not wait for a commit; {@link #flush()} and {@link #close()} write what is pending. Two
 * replicas that pin the same new session differently converge on the stored pin, and both
 * choose the same version anyway while weights are unchanged (the choice hashes the session id).
 */
public final class SessionPins implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(SessionPins.class.getName());
  private static final int MAX_CACHED = 1_000_000;

  private final SessionPinStore store;
  private final Map<String, SessionPin> cache = new ConcurrentHashMap<>();
  /** Sessions the store had no pin for when asked, until they are pinned. */
  private final Map<String, Boolean> absent = new ConcurrentHashMap<>();
  private final BlockingQueue<SessionPin> pending = new ArrayBlockingQueue<>(65_536);
  private final BlockingQueue<SessionPin> extensions = new ArrayBlockingQueue<>(65_536);
  private final List<SessionPin> unwritten = new ArrayList<>();
  private final List<SessionPin> unextended = new ArrayList<>();
  private final Thread writer;
  private volatile boolean closed;
  private volatile long lastExpiry;

  /** Pins backed by {@code store}. */
  public SessionPins(SessionPinStore store) {
    this.store = store;
    this.writer = Thread.ofPlatform().daemon().name("flightdeck-pin-writer").start(this::writeLoop);
  }

  /**
   * Whether {@link #find} answers from memory: the pin is cached, or the store was asked
   * already and had none (remembered until the session is pinned).
   */
  public boolean cached(String agent, String sessionId) {
    String k = key(agent, sessionId);
    return cache.containsKey(k) || absent.containsKey(k);
  }

  /** The live pin of a session (from the cache, else the store). */
  public Optional<SessionPin> find(String agent, String sessionId) {
    long now = System.currentTimeMillis();
    SessionPin p = cache.get(key(agent, sessionId));
    if (p == null) {
      String k = key(agent, sessionId);
      if (absent.containsKey(k)) {
        return Optional.empty();
      }
      p = store.find(agent, sessionId, now).orElse(null);
      if (p != null) {
        cache.put(k, p);
      } else {
        if (absent.size() > 100_000) {
          absent.clear();
        }
        absent.put(k, Boolean.TRUE);
      }
    }
    if (p == null || p.expiresAt() <= now) {
      return Optional.empty();
    }
    return Optional.of(p);
  }

  /** Keeps a pin alive for another {@code ttlMillis} once half its life has passed. */
  public void touch(SessionPin p, long ttlMillis) {
    long now = System.currentTimeMillis();
    if (p.expiresAt() - now < ttlMillis / 2) {
      SessionPin extended = new SessionPin(p.agent(), p.sessionId(), p.version(), p.createdAt(), now + ttlMillis);
      cache.put(key(p.agent(), p.sessionId()), extended);
      extensions.offer(extended);
    }
  }

  /** Pins a session; returns the pin that holds (an earlier one, if this replica raced another). */
  public SessionPin pin(String agent, String sessionId, String version, long ttlMillis) {
    long now = System.currentTimeMillis();
    SessionPin p = new SessionPin(agent, sessionId, version, now, now + ttlMillis);
    SessionPin prior = cache.putIfAbsent(key(agent, sessionId), p);
    absent.remove(key(agent, sessionId));
    if (prior != null && prior.expiresAt() > now) {
      return prior;
    }
    if (prior != null) {
      cache.put(key(agent, sessionId), p);
    }
    if (cache.size() > MAX_CACHED) {
      evict(now);
    }
    try {
      // Back-pressure rather than loss: when the store falls behind, wait for the writer.
      if (!pending.offer(p, 5, TimeUnit.SECONDS)) {
        LOG.log(System.Logger.Level.WARNING, "session pin queue full; pin of {0} kept in memory only", sessionId);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return p;
  }

  /**
   * Moves a session whose version was removed to {@code version} (the agent allows migration).
   * Written at once: this is rare, and the stored pin must not win over the move.
   */
  public SessionPin migrate(SessionPin old, String version, long ttlMillis) {
    long now = System.currentTimeMillis();
    SessionPin moved = new SessionPin(old.agent(), old.sessionId(), version, now, now + ttlMillis);
    store.migrate(List.of(moved), old.version());
    cache.put(key(old.agent(), old.sessionId()), moved);
    return moved;
  }

  /** Writes pending pins now. */
  public synchronized void flush() {
    // What a failed write took out of the queues goes back into the next try, so a store
    // that is busy or down for a while loses no pin.
    List<SessionPin> batch = new ArrayList<>(unwritten);
    unwritten.clear();
    pending.drainTo(batch);
    if (!batch.isEmpty()) {
      List<SessionPin> winners;
      try {
        winners = store.insert(batch, System.currentTimeMillis());
      } catch (RuntimeException e) {
        unwritten.addAll(batch);
        throw e;
      }
      for (SessionPin stored : winners) {
        cache.put(key(stored.agent(), stored.sessionId()), stored);
      }
    }
    List<SessionPin> ext = new ArrayList<>(unextended);
    unextended.clear();
    extensions.drainTo(ext);
    try {
      store.extend(ext);
    } catch (RuntimeException e) {
      unextended.addAll(ext);
      throw e;
    }
    long now = System.currentTimeMillis();
    if (now - lastExpiry > 60_000) {
      lastExpiry = now;
      store.deleteExpired(now);
    }
  }

  private void writeLoop() {
    while (!closed) {
      try {
        Thread.sleep(20);
        flush();
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "writing session pins failed; will retry: " + e.getMessage());
        try {
          Thread.sleep(500);
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  private void evict(long now) {
    // Evicted pins stay in the store; the next request of such a session reads it back.
    cache.values().removeIf(p -> p.expiresAt() <= now);
    Iterator<SessionPin> it = cache.values().iterator();
    while (cache.size() > MAX_CACHED * 9 / 10 && it.hasNext()) {
      it.next();
      it.remove();
    }
  }

  private static String key(String agent, String sessionId) {
    return agent + '\u0000' + sessionId;
  }

  @Override
  public void close() {
    closed = true;
    writer.interrupt();
    try {
      writer.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    flush();
  }
}

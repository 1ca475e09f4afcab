package dev.flightdeck.gateway.model;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Requests and tokens per minute, over a sliding window of 60 one-second slots, per limiter key
 * (a virtual key or an agent). A call is admitted when one more request, and its token
 * estimate, fit in the last 60 seconds; the estimate is corrected to the real usage when the
 * call ends. Limits hold per gateway replica.
 */
final class RateLimits {

  private static final int SLOTS = 60;

  /** The allowance a call saw: what is left after it, and when to retry if it was refused. */
  record Decision(boolean allowed, long limitRequests, long remainingRequests, long limitTokens,
      long remainingTokens, long retryAfterSeconds, String reason) {}

  private final Map<String, Window> windows = new ConcurrentHashMap<>();
  private final LongSupplier clockSeconds;

  RateLimits(LongSupplier clockSeconds) {
    this.clockSeconds = clockSeconds;
  }

  /** Admits one request estimated at {@code tokens} under {@code rate}, or says why not. */
  Decision acquire(String key, ModelConfig.Rate rate, long tokens) {
    return windows.computeIfAbsent(key, k -> new Window()).acquire(rate, tokens, clockSeconds.getAsLong());
  }

  /** Corrects a call's token estimate to what it really used (in the second it was admitted). */
  void settle(String key, long admittedSecond, long estimate, long actual) {
    Window w = windows.get(key);
    if (w != null) {
      w.adjust(admittedSecond, actual - estimate, clockSeconds.getAsLong());
    }
  }

  /** Takes back a request admitted in {@code admittedSecond} that was refused by a later check. */
  void undo(String key, long admittedSecond) {
    Window w = windows.get(key);
    if (w != null) {
      w.undo(admittedSecond);
    }
  }

  /** The second a call admitted now is counted in. */
  long now() {
    return clockSeconds.getAsLong();
  }

  /** Drops windows idle for over a minute. */
  void sweep() {
    long now = clockSeconds.getAsLong();
    windows.values().removeIf(w -> w.idleSince(now) > SLOTS);
  }

  private static final class Window {
    private final long[] second = new long[SLOTS];
    private final long[] requests = new long[SLOTS];
    private final long[] tokens = new long[SLOTS];
    private long last;

    synchronized Decision acquire(ModelConfig.Rate rate, long estimate, long now) {
      last = now;
      long usedRequests = 0;
      long usedTokens = 0;
      for (int i = 0; i < SLOTS; i++) {
        if (now - second[i] < SLOTS) {
          usedRequests += requests[i];
          usedTokens += tokens[i];
        }
      }
      long rpm = rate.requestsPerMinute();
      long tpm = rate.tokensPerMinute();
      String reason = null;
      if (rpm > 0 && usedRequests + 1 > rpm) {
        reason = "requests per minute (" + rpm + ")";
      } else if (tpm > 0 && usedTokens > 0 && usedTokens + estimate > tpm) {
        // A call larger than the whole allowance is let through on an empty window, or it could never run.
        reason = "tokens per minute (" + tpm + ": " + usedTokens + " used in the last minute, this call may use "
            + estimate + ")";
      }
      if (reason != null) {
        return new Decision(false, rpm, Math.max(0, rpm - usedRequests), tpm, Math.max(0, tpm - usedTokens),
            retryAfter(now, rpm > 0 && usedRequests + 1 > rpm), reason);
      }
      int slot = (int) Math.floorMod(now, SLOTS);
      if (second[slot] != now) {
        second[slot] = now;
        requests[slot] = 0;
        tokens[slot] = 0;
      }
      requests[slot]++;
      tokens[slot] += estimate;
      return new Decision(true, rpm, Math.max(0, rpm - usedRequests - 1), tpm,
          Math.max(0, tpm - usedTokens - estimate), 0, null);
    }

    /** Seconds until the oldest slot that holds requests (or tokens) leaves the window. */
    private long retryAfter(long now, boolean byRequests) {
      long oldest = now;
      for (int i = 0; i < SLOTS; i++) {
        if (now - second[i] < SLOTS && (byRequests ? requests[i] : tokens[i]) > 0) {
          oldest = Math.min(oldest, second[i]);
        }
      }
      return Math.max(1, oldest + SLOTS - now);
    }

    synchronized void adjust(long admitted, long delta, long now) {
      int slot = (int) Math.floorMod(admitted, SLOTS);
      if (second[slot] == admitted && now - admitted < SLOTS) {
        tokens[slot] = Math.max(0, tokens[slot] + delta);
      }
    }

    synchronized void undo(long admitted) {
      int slot = (int) Math.floorMod(admitted, SLOTS);
      if (second[slot] == admitted && requests[slot] > 0) {
        requests[slot]--;
      }
    }

    synchronized long idleSince(long now) {
      return now - last;
    }
  }
}

package dev.flightdeck.gateway.model;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Runaway-loop detection per session: the same normalized model call made more than
 * {@code maxRepeats} times, or more than {@code maxTokensPerMinute} tokens spent in a minute,
 * halts the session. A halted session stays halted until its state expires (an hour without
 * calls) or is released by hand.
 */
final class Runaway {

  private static final long IDLE_MILLIS = 3_600_000;
  private static final int MAX_FINGERPRINTS = 4_096;

  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  private final LongSupplier clockMillis;

  Runaway(LongSupplier clockMillis) {
    this.clockMillis = clockMillis;
  }

  /** The halt in force for a session, if any. */
  Optional<SessionHalt> halted(String agent, String session) {
    Session s = sessions.get(agent + '\n' + session);
    return s == null ? Optional.empty() : Optional.ofNullable(s.halt);
  }

  /**
   * Counts a call; returns the halt it causes when it is one repeat too many.
   *
   * @param fingerprint the normalized call (model, tools, system prompt, last message)
   */
  Optional<SessionHalt> call(String agent, String version, String session, String fingerprint, ModelConfig.Runaway rule) {
    if (!rule.enabled()) {
      return Optional.empty();
    }
    Session s = sessions.computeIfAbsent(agent + '\n' + session, k -> new Session());
    synchronized (s) {
      s.lastMillis = clockMillis.getAsLong();
      if (s.halt != null) {
        return Optional.of(s.halt);
      }
      if (s.repeats.size() >= MAX_FINGERPRINTS && !s.repeats.containsKey(fingerprint)) {
        s.repeats.clear(); // a session that never repeats itself: forget old calls rather than grow
      }
      int n = s.repeats.merge(fingerprint, 1, Integer::sum);
      if (n > rule.maxRepeats()) {
        s.halt = new SessionHalt(agent, version, session, "the same model call was made " + n + " times in this session"
            + " (at most " + rule.maxRepeats() + " allowed by spec.modelGateway.runaway.maxRepeats of agent " + agent
            + "): the agent looks stuck in a loop", Instant.ofEpochMilli(s.lastMillis));
        return Optional.of(s.halt);
      }
      return Optional.empty();
    }
  }

  /** Counts tokens a session spent; returns the halt when its burn rate went over the limit. */
  Optional<SessionHalt> spent(String agent, String version, String session, long tokens, ModelConfig.Runaway rule) {
    if (!rule.enabled() || rule.maxTokensPerMinute() <= 0 || tokens <= 0) {
      return Optional.empty();
    }
    Session s = sessions.computeIfAbsent(agent + '\n' + session, k -> new Session());
    synchronized (s) {
      long now = clockMillis.getAsLong();
      s.lastMillis = now;
      if (s.halt != null) {
        return Optional.empty(); // already reported
      }
      long second = now / 1000;
      s.tokens.merge(second, tokens, Long::sum);
      s.tokens.keySet().removeIf(k -> k <= second - 60);
      long minute = s.tokens.values().stream().mapToLong(Long::longValue).sum();
      if (minute > rule.maxTokensPerMinute()) {
        s.halt = new SessionHalt(agent, version, session, "the session spent " + minute + " tokens in the last minute (at most "
            + rule.maxTokensPerMinute() + " allowed by spec.modelGateway.runaway.maxTokensPerMinute of agent "
            + agent + ")", Instant.ofEpochMilli(now));
        return Optional.of(s.halt);
      }
      return Optional.empty();
    }
  }

  /** Lifts a session's halt; true when it was halted. */
  boolean release(String agent, String session) {
    return sessions.remove(agent + '\n' + session) != null;
  }

  /** Forgets sessions idle for an hour. */
  void sweep() {
    long cutoff = clockMillis.getAsLong() - IDLE_MILLIS;
    sessions.values().removeIf(s -> {
      synchronized (s) {
        return s.lastMillis < cutoff;
      }
    });
  }

  private static final class Session {
    final Map<String, Integer> repeats = new HashMap<>();
    final Map<Long, Long> tokens = new HashMap<>();
    long lastMillis;
    SessionHalt halt;
  }
}

package dev.flightdeck.gateway.telemetry;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Joins an agent's model calls to the agent request they were made for. While the gateway
 * serves a request of a session, the model calls of that session's version (the model gateway
 * knows them by virtual key and session header) add their tokens and cost to it, and a halt of
 * the session marks it as an error; the request's record then carries what its model calls
 * really cost, which the rollout analysis reads per version.
 */
public final class CallLedger {

  /** What a request's model calls added up to. */
  public static final class Tally {
    private long promptTokens;
    private long completionTokens;
    private long cachedTokens;
    private double costUsd;
    private boolean costUnknown;
    private int calls;
    private String haltCode;

    synchronized void add(long prompt, long completion, long cached, double cost) {
      calls++;
      promptTokens += Math.max(0, prompt);
      completionTokens += Math.max(0, completion);
      cachedTokens += Math.max(0, cached);
      if (cost < 0) {
        costUnknown = true;
      } else {
        costUsd += cost;
      }
    }

    synchronized void halt(String code) {
      haltCode = code;
    }

    /** Model calls counted. */
    public synchronized int calls() {
      return calls;
    }

    /** The usage of those calls, {@link Usage#NONE} when there was none; the cost -1 if any call's was unknown. */
    public synchronized Usage usage() {
      return calls == 0 ? Usage.NONE : new Usage(promptTokens, completionTokens, cachedTokens, costUnknown ? -1 : costUsd);
    }

    /** The error code a halt of the session set ({@code session_halted}), or null. */
    public synchronized String haltCode() {
      return haltCode;
    }
  }

  private final Map<String, Tally> open = new ConcurrentHashMap<>();

  /**
   * Starts counting for a request of {@code session} served by {@code version}; the newest open
   * request of a session gets its calls. Call {@link #close} with the same tally when it ends.
   */
  public Tally open(String version, String session) {
    Tally t = new Tally();
    open.put(key(version, session), t);
    return t;
  }

  /** Stops counting for the request. */
  public void close(String version, String session, Tally t) {
    open.remove(key(version, session), t);
  }

  /** Adds a model call to the session's open request, if one is being served here; false if none. */
  public boolean charge(String version, String session, long prompt, long completion, long cached, double costUsd) {
    Tally t = current(version, session);
    if (t == null) {
      return false;
    }
    t.add(prompt, completion, cached, costUsd);
    return true;
  }

  /** Marks the session's open request, if any, as failed with {@code code}. */
  public void halt(String version, String session, String code) {
    Tally t = current(version, session);
    if (t != null) {
      t.halt(code);
    }
  }

  private Tally current(String version, String session) {
    if (session == null) {
      return null;
    }
    return open.get(key(version, session));
  }

  private static String key(String version, String session) {
    return version + '\n' + session;
  }
}

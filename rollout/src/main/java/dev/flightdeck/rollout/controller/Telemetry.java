package dev.flightdeck.rollout.controller;

import dev.flightdeck.rollout.analysis.Arm;

/** Where the controller reads what each version did: the gateway's per-version windows. */
public interface Telemetry {

  /** A version's observations from {@code fromMillis} to now (whole seconds, both ends included). */
  Arm since(String version, long fromMillis);

  /** A version's observations from {@code fromMillis} to {@code toMillis}. */
  Arm between(String version, long fromMillis, long toMillis);

  /** Sessions pinned to a version of an agent that have not expired. */
  long pinnedSessions(String agent, String version);
}

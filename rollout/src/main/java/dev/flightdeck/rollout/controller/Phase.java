package dev.flightdeck.rollout.controller;

/** Where a rollout is. */
public enum Phase {
  /** Applied, not yet started by the controller (never stored). */
  Pending,
  /** Going through its steps. */
  Progressing,
  /** Held: by a person, by a pause step without duration, or by an inconclusive analysis. */
  Paused,
  /** Finished: the candidate serves every new session. */
  Promoted,
  /** An analysis or eval gate failed: stable serves every new session again. */
  RolledBack,
  /** Stopped by a person: stable serves every new session again. */
  Aborted,
  /** A promotion reversed by a person: the previous stable serves every new session again. */
  Undone;

  /** Whether the rollout is over (until retried or changed). */
  public boolean terminal() {
    return this == Promoted || this == RolledBack || this == Aborted || this == Undone;
  }

  /** Whether the candidate may get traffic. */
  public boolean active() {
    return this == Progressing || this == Paused;
  }
}

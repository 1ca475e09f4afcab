package dev.flightdeck.eval.run;

/** Told about every finished run, from many threads; implementations must be thread-safe. */
public interface Progress {

  /** A run finished: done so far, the plan's total (an upper bound in adaptive mode), passes and failures so far. */
  void update(long done, long planned, long passed, long failed);

  /** Nothing is shown. */
  Progress NONE = (done, planned, passed, failed) -> { };
}

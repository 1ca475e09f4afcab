package dev.flightdeck.rollout.controller;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.rollout.analysis.Verdict;

/** Runs an EvalSuite against a candidate version for an evalGate step. */
public interface EvalGates {

  /**
   * The outcome of a run.
   *
   * @param verdict PASS when the suite's gate passed, FAIL when it failed, WAIT when it could
   *     not tell (the candidate unreachable, the suite invalid): the step is then inconclusive
   */
  record Outcome(Verdict verdict, String reason, ObjectNode evidence) {}

  /** Runs {@code suite} against {@code candidate}; blocks until done (the controller calls it on its own thread). */
  Outcome run(String suite, String candidate);
}

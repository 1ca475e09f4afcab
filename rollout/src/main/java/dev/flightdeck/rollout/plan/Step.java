package dev.flightdeck.rollout.plan;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Durations;
import dev.flightdeck.rollout.analysis.AnalysisSpec;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** One step of a rollout plan. Every strategy compiles to a list of these. */
public sealed interface Step {

  /** The step's type as the API shows it ({@code setWeight}, {@code analysis}, ...). */
  String type();

  /** The step in a few words, e.g. {@code setWeight 10}. */
  String summary();

  /** Send {@code percent} of new sessions to the candidate. */
  record SetWeight(int percent) implements Step {
    @Override
    public String type() {
      return "setWeight";
    }

    @Override
    public String summary() {
      return "setWeight " + percent;
    }
  }

  /** Wait for {@code duration}, or until promoted when empty. */
  record Pause(Optional<Duration> duration) implements Step {
    @Override
    public String type() {
      return "pause";
    }

    @Override
    public String summary() {
      return duration.map(d -> "pause " + Durations.format(d)).orElse("pause until promoted");
    }
  }

  /** Compare candidate with stable until the analysis passes, fails or runs out of time. */
  record Analyze(AnalysisSpec spec, String label) implements Step {
    @Override
    public String type() {
      return "analysis";
    }

    @Override
    public String summary() {
      return (label.isEmpty() ? "analysis " : label + " analysis ") + spec.summary();
    }
  }

  /** Mirror {@code percent} of requests to the candidate for {@code duration}. */
  record Shadow(int percent, Duration duration) implements Step {
    @Override
    public String type() {
      return "shadow";
    }

    @Override
    public String summary() {
      return "shadow " + percent + "% for " + Durations.format(duration);
    }
  }

  /** Run an EvalSuite against the candidate; it must pass. */
  record EvalGate(String suite) implements Step {
    @Override
    public String type() {
      return "evalGate";
    }

    @Override
    public String summary() {
      return "evalGate " + suite;
    }
  }

  /**
   * Route matching requests to the candidate through Agent rules (rings by header or user list,
   * blue-green's preview header); rules of earlier steps stay.
   *
   * @param rules Agent rules ({@code name}, {@code match}); their version is the candidate's
   */
  record Route(String label, List<ObjectNode> rules) implements Step {
    @Override
    public String type() {
      return "route";
    }

    @Override
    public String summary() {
      return label;
    }
  }
}

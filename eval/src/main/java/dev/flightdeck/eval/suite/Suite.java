package dev.flightdeck.eval.suite;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.eval.assertion.Assertion;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * A compiled EvalSuite: every case with its request rendered and its assertions compiled, ready
 * to run. Built by {@link SuiteCompiler}; everything a user can get wrong was reported there.
 */
public record Suite(
    String name,
    Optional<String> target,
    int runs,
    int concurrency,
    Duration timeout,
    int retries,
    OptionalDouble threshold,
    double caseThreshold,
    Adaptive adaptive,
    Gate gate,
    Extract extract,
    Optional<JudgeSpec> judge,
    List<EvalCase> cases,
    Optional<String> schedule,
    Optional<Notify> notification) {

  public Suite {
    if (runs < 1 || concurrency < 1 || retries < 0) {
      throw new IllegalArgumentException("runs and concurrency must be at least 1, retries at least 0");
    }
    cases = List.copyOf(cases);
  }

  /** A copy with a different number of runs per case (the command line's --runs). */
  public Suite withRuns(int n) {
    return new Suite(name, target, n, concurrency, timeout, retries, threshold, caseThreshold, adaptive, gate,
        extract, judge, cases, schedule, notification);
  }

  /** A copy with a different concurrency limit. */
  public Suite withConcurrency(int n) {
    return new Suite(name, target, runs, n, timeout, retries, threshold, caseThreshold, adaptive, gate,
        extract, judge, cases, schedule, notification);
  }

  /** A copy with adaptive stopping switched on or off. */
  public Suite withAdaptive(boolean on) {
    return new Suite(name, target, runs, concurrency, timeout, retries, threshold, caseThreshold,
        new Adaptive(on, adaptive.alpha(), adaptive.minRuns()), gate, extract, judge, cases, schedule, notification);
  }

  /** A copy with another non-inferiority margin. */
  public Suite withMargin(double margin) {
    return new Suite(name, target, runs, concurrency, timeout, retries, threshold, caseThreshold, adaptive,
        new Gate(margin, gate.alpha()), extract, judge, cases, schedule, notification);
  }

  /** One case: its variables, the request it sends and what its answer must satisfy. */
  public record EvalCase(String name, Map<String, JsonNode> vars, Request request, List<Assertion> assertions) {
    public EvalCase {
      vars = Map.copyOf(vars);
      assertions = List.copyOf(assertions);
    }
  }

  /** A rendered request: method, path (appended to the target), headers and JSON body. */
  public record Request(String method, String path, Map<String, String> headers, Optional<JsonNode> body) {
    public Request {
      headers = Map.copyOf(headers);
    }

    /** The absolute URI of this request against a base URL. */
    public URI against(URI base) {
      String b = base.toString();
      if (path.isEmpty()) {
        return base;
      }
      return URI.create((b.endsWith("/") ? b.substring(0, b.length() - 1) : b) + (path.startsWith("/") ? path : "/" + path));
    }
  }

  /** Adaptive stopping: settle a case early with a sequential test at level alpha after minRuns. */
  public record Adaptive(boolean enabled, double alpha, int minRuns) {}

  /** The baseline gate: not worse than the baseline by more than margin, with confidence 1 - alpha. */
  public record Gate(double margin, double alpha) {}

  /** JSON paths for the answer, the trajectory, tokens and cost; empty means "guess the usual places". */
  public record Extract(Optional<String> answer, Optional<String> trajectory, Optional<String> tokens,
      Optional<String> cost) {
    /** No paths configured. */
    public static Extract defaults() {
      return new Extract(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
    }
  }

  /** An LLM judge: an OpenAI-compatible endpoint and a pinned model. */
  public record JudgeSpec(URI baseUrl, String model, Optional<String> apiKeyEnv, int retries, Duration timeout) {}

  /** Where scheduled runs report a drop. */
  public record Notify(Optional<URI> webhook, OptionalDouble below) {}
}

package dev.flightdeck.eval.report;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.eval.assertion.Check;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/** One run of one case: its outcome, what each assertion said, and the (redacted) answer. */
public record RunRecord(int index, Outcome outcome, int status, long latencyMs, OptionalLong tokens,
    OptionalDouble cost, String answer, List<CheckRecord> checks, Optional<String> error, boolean cached) {

  /** How a run ended. ERROR is a transport failure or timeout (counted as a failure). */
  public enum Outcome { PASS, FAIL, UNMEASURED, ERROR }

  /** One assertion's verdict on this run. */
  public record CheckRecord(String assertion, Check.Status status, String message) {}

  public RunRecord {
    checks = List.copyOf(checks);
  }

  /** Whether the run counts in the statistics (unmeasured runs do not). */
  public boolean measured() {
    return outcome != Outcome.UNMEASURED;
  }

  ObjectNode toJson() {
    ObjectNode o = Json.object();
    o.put("index", index);
    o.put("outcome", outcome.name().toLowerCase(java.util.Locale.ROOT));
    o.put("status", status);
    o.put("latencyMs", latencyMs);
    tokens.ifPresent(t -> o.put("tokens", t));
    cost.ifPresent(c -> o.put("cost", c));
    o.put("answer", answer);
    error.ifPresent(e -> o.put("error", e));
    if (cached) {
      o.put("cached", true);
    }
    var arr = o.putArray("checks");
    for (CheckRecord c : checks) {
      arr.addObject().put("assertion", c.assertion())
          .put("status", c.status().name().toLowerCase(java.util.Locale.ROOT)).put("message", c.message());
    }
    return o;
  }
}

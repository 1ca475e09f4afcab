package dev.flightdeck.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RolloutViewTest {

  private static final Instant NOW = Instant.parse("2026-11-23T10:00:00Z");
  private static final RolloutView VIEW = RolloutView.of(true).at(NOW);

  static JsonNode fixture(String name) {
    try (InputStream in = RolloutViewTest.class.getResourceAsStream("/rollout/" + name + ".json")) {
      return Json.read(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void progressing_showsHeaderWeightsStepsAnalysisTableDrainingAndMessage() {
    assertThat(VIEW.status(fixture("progressing"))).isEqualTo("""
        rollout/support-triage-v2   Progressing   attempt 1
        Agent:     support-triage: support-triage-v1 (stable) → support-triage-v2 (candidate), canary
        Weights:   support-triage-v1   90%  ██████████████████░░
                   support-triage-v2   10%  ██░░░░░░░░░░░░░░░░░░
        Steps:     step 3 of 6, started 30s ago
                   ✓ 1  evalGate support-triage-golden
                   ✓ 2  setWeight 10
                   ▶ 3  analysis errorRate, tokensPerRequest (α 0.01)
                   · 4  setWeight 50
                   · 5  pause 5m
                   · 6  setWeight 100
        Analysis:  wait (sequential, α 0.01, since 30s ago, deadline in 9m)
                   METRIC             LIMIT                    CANARY         STABLE          BOUND             VERDICT   REASON
                   errorRate          canary ≤ stable + 0.01   0.024 (n=83)   0.019 (n=790)   [-0.041, 0.062]   wait      83 of 100 canary samples
                   tokensPerRequest   canary ≤ stable × 1.5    812.5 (n=83)   640 (n=790)     [1.05, 1.42]      pass
        Draining:  support-triage-v0  12 sessions, deadline in 24h
        Message:   analysis: waiting for evidence (errorRate: 83 of 100 canary samples)
        Updated:   2026-11-23T10:00:00Z (now), revision 7
        """);
  }

  @Test
  void withoutAClock_timesAreAbsolute_soTheViewOnlyChangesWhenTheStatusDoes() {
    String text = RolloutView.of(true).status(fixture("progressing"));
    assertThat(text).contains("Steps:     step 3 of 6, started 2026-11-23T09:59:30Z\n",
        "Analysis:  wait (sequential, α 0.01, since 2026-11-23T09:59:30Z, deadline 2026-11-23T10:09:30Z)\n",
        "Draining:  support-triage-v0  12 sessions, deadline 2026-11-24T10:00:00Z\n",
        "Updated:   2026-11-23T10:00:00Z, revision 7\n");
    assertThat(text).doesNotContain(" ago", "in 9m", "(now)");
  }

  @Test
  void rolledBack_withoutStableArmBoundOrDeadline_showsDashesAndAFailedStep() {
    String text = VIEW.status(fixture("rolled-back"));
    assertThat(text).startsWith("rollout/support-triage-v2   RolledBack   attempt 2\n").contains("""
        Weights:   support-triage-v1  100%  ████████████████████
                   support-triage-v2    0%  ░░░░░░░░░░░░░░░░░░░░
        Steps:     step 3 of 6
                   ✓ 1  evalGate support-triage-golden
                   ✓ 2  setWeight 10
                   ✗ 3  analysis errorRate (α 0.01)
        """, """
        Analysis:  rollback (threshold, α 0.01, since 30s ago)
                   METRIC      LIMIT           CANARY           STABLE   BOUND   VERDICT    REASON
                   errorRate   canary ≤ 0.05   0.0712 (n=400)   -        -       rollback   above the absolute limit
        Draining:  support-triage-v2  1 session
        """);
    assertThat(text).doesNotContain("null", "deadline");
  }

  @Test
  void paused_withNullAnalysisAndDraining_leavesThoseSectionsOut() {
    String text = VIEW.status(fixture("paused"));
    assertThat(text).startsWith("rollout/support-triage-v2   Paused   attempt 1\n")
        .contains("           ▶ 5  pause (until promoted)\n", "Message:   paused by token:alice: waiting for the support lead\n");
    assertThat(text).doesNotContain("Analysis:", "Draining:", "null");
  }

  @Test
  void pending_withoutMessageAnalysisOrDraining_showsOnlyWhatIsThere() {
    assertThat(VIEW.status(fixture("pending"))).isEqualTo("""
        rollout/support-triage-v2   Pending   attempt 0
        Agent:     support-triage: support-triage-v1 (stable) → support-triage-v2 (candidate), canary
        Weights:   support-triage-v1  100%  ████████████████████
        Steps:     step 1 of 2
                   · 1  setWeight 10
                   · 2  setWeight 100
        Updated:   2026-11-23T09:58:00Z (2m ago), revision 3
        """);
  }

  @Test
  void promoted_listsStableBeforeCandidate_whateverTheOrderOfWeights_andShowsTheOldVersionDraining() {
    ObjectNode s = (ObjectNode) fixture("paused");
    s.put("phase", "Promoted").put("message", "promoted after 6 steps");
    s.set("weights", Json.read("{\"support-triage-v2\": 100, \"support-triage-v1\": 0}"));
    s.set("draining", Json.read("[{\"version\": \"support-triage-v1\", \"sessions\": 3, \"deadline\": \"2026-11-23T11:00:00Z\"}]"));
    s.set("step", Json.read("{\"index\": 6, \"count\": 6}"));
    assertThat(VIEW.status(s)).startsWith("rollout/support-triage-v2   Promoted   attempt 1\n").contains("Steps:     all 6 steps done\n", """
        Weights:   support-triage-v1    0%  ░░░░░░░░░░░░░░░░░░░░
                   support-triage-v2  100%  ████████████████████
        """, "Draining:  support-triage-v1  3 sessions, deadline in 60m\n");
  }

  @ParameterizedTest
  @ValueSource(strings = {"Pending", "Progressing", "Paused", "Promoted", "RolledBack", "Aborted", "Undone"})
  void everyPhase_rendersFromTheBareMinimum_withoutNulls(String phase) {
    JsonNode s = Json.read("{\"name\": \"r\", \"phase\": \"" + phase + "\", \"analysis\": null, \"draining\": null,"
        + " \"step\": null, \"steps\": [], \"weights\": {}, \"message\": null}");
    assertThat(VIEW.status(s)).isEqualTo("rollout/r   " + phase + "\nAgent:     -: - (stable) → - (candidate)\n");
  }

  @Test
  void ascii_spellsSymbolsOut_andKeepsTableColumnsAligned() {
    String text = RolloutView.of(false).status(fixture("progressing"));
    assertThat(text.chars().allMatch(c -> c < 128)).as(text).isTrue();
    assertThat(text).contains("support-triage-v1 (stable) -> support-triage-v2 (candidate)",
        "Weights:   support-triage-v1   90%  ##################..\n",
        "           + 1  evalGate support-triage-golden\n",
        "           > 3  analysis errorRate, tokensPerRequest (alpha 0.01)\n",
        "           - 4  setWeight 50\n",
        "METRIC             LIMIT                     CANARY",
        "errorRate          canary <= stable + 0.01   0.024 (n=83)",
        "tokensPerRequest   canary <= stable x 1.5    812.5 (n=83)");
  }

  @Test
  void decisions_oneLineEach_withEvidenceAsIndentedMetricLinesInAbsoluteTime() {
    assertThat(VIEW.decisions(fixture("decisions").path("items"))).isEqualTo("""
        Decisions (4):
          TIME                   ACTOR               ACTION           STEP   PHASE         REASON
          2026-11-23T09:58:00Z   system:flightdeck   started          1      Progressing   new candidate support-triage-v2
          2026-11-23T09:59:30Z   system:flightdeck   step.completed   2      Progressing   weight 10% on support-triage-v2
          2026-11-23T10:05:00Z   system:flightdeck   rolled-back      3      RolledBack    errorRate: canary significantly higher than stable
              evidence: rollback (sequential, α 0.01, since 2026-11-23T09:59:30Z)
                errorRate          rollback   canary 0.0712 (n=400)   stable 0.019 (n=3100)   bound [0.012, 0.048]   limit canary ≤ stable + 0.01   lower bound above 0.01
                tokensPerRequest   pass       canary 700 (n=400)      stable -
          2026-11-23T10:20:00Z   token:alice         retried          -      Progressing   fixed the prompt
        """);
  }

  @Test
  void decisions_whenNoneYet_sayNone() {
    assertThat(VIEW.decisions(Json.read("[]"))).isEqualTo("Decisions (0):\n  none yet\n");
  }

  @Test
  void verbLine_namesTheRolloutWhatHappenedAndWhereItNowIs() {
    assertThat(RolloutView.verbLine("x", "promoted", fixture("progressing")))
        .isEqualTo("rollout/support-triage-v2 promoted (phase Progressing, step 3/6)");
    assertThat(RolloutView.verbLine("support-triage-v2", "aborted", Json.read("{\"phase\": \"Aborted\", \"step\": null}")))
        .isEqualTo("rollout/support-triage-v2 aborted (phase Aborted)");
  }

  @Test
  void numbers_threeSignificantDigitsBelowAHundred_oneDecimalAbove() {
    assertThat(RolloutView.number(Json.read("0.024"))).isEqualTo("0.024");
    assertThat(RolloutView.number(Json.read("0.019333333"))).isEqualTo("0.0193");
    assertThat(RolloutView.number(Json.read("-0.041"))).isEqualTo("-0.041");
    assertThat(RolloutView.number(Json.read("812.4567"))).isEqualTo("812.5");
    assertThat(RolloutView.number(Json.read("1234.0"))).isEqualTo("1234");
    assertThat(RolloutView.number(Json.read("0"))).isEqualTo("0");
    assertThat(RolloutView.number(Json.read("12"))).isEqualTo("12");
  }
}

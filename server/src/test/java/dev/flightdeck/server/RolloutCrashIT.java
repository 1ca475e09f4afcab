package dev.flightdeck.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.audit.AuditEntry;
import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.api.resource.Resource;
import dev.flightdeck.rollout.controller.Phase;
import dev.flightdeck.rollout.controller.RolloutState;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.audit.AuditLog;
import dev.flightdeck.store.resource.ResourceStore;
import dev.flightdeck.store.rollout.RolloutStore;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a real server process with SIGKILL at random points while it drives several rollouts,
 * restarts it, and checks after every kill, from the store alone: no step skipped or done twice,
 * each Agent's routing consistent with its rollout's stored state (or, when the kill fell
 * between the decision and the routing write, with the state just before), every decision in the
 * audit log, the audit chain intact. At the end every rollout has finished, each step exactly once.
 */
class RolloutCrashIT {

  private static final int ROLLOUTS = 4;
  private static final int KILLS = 8;
  /** setWeight 10, pause, setWeight 20, pause, ..., setWeight 90, pause: 18 steps. */
  private static final int[] WEIGHTS = {10, 20, 30, 40, 50, 60, 70, 80, 90};

  @TempDir Path dir;
  private String token;
  /** Rollouts found part-way through at a kill: the test is only worth something if there are many. */
  private int caughtMidway;

  private record Child(Process process, ApiClient api) {}

  private Child startChild() throws Exception {
    Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
        "-cp", System.getProperty("java.class.path"), "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"),
        RolloutCrashChild.class.getName(), dir.toString()).redirectErrorStream(true).start();
    children.add(p);
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    String url = null;
    List<String> seen = new ArrayList<>();
    while (url == null && (line = out.readLine()) != null) {
      seen.add(line);
      if (line.startsWith("token ")) {
        token = line.substring(6);
      } else if (line.startsWith("api ")) {
        url = line.substring(4);
      }
    }
    assertThat(url).as("the child started: %s", seen).isNotNull();
    Thread.ofVirtual().start(() -> {
      try {
        while (out.readLine() != null) {
          // drain, so the child never blocks on a full pipe
        }
      } catch (java.io.IOException e) {
        // the child was killed
      }
    });
    return new Child(p, new ApiClient(url, Optional.of(token)));
  }

  private static String resources() {
    StringBuilder y = new StringBuilder();
    for (int i = 0; i < ROLLOUTS; i++) {
      if (i > 0) {
        y.append("---\n");
      }
      y.append("""
          apiVersion: flightdeck.dev/v1alpha1
          kind: Agent
          metadata: {name: a%1$d}
          spec:
            routes: [{version: a%1$d-v1, weight: 100}]
          ---
          apiVersion: flightdeck.dev/v1alpha1
          kind: AgentVersion
          metadata: {name: a%1$d-v1}
          spec: {agent: a%1$d, endpoints: [{url: "http://127.0.0.1:9"}], models: [{id: m-2024-01-01}]}
          ---
          apiVersion: flightdeck.dev/v1alpha1
          kind: AgentVersion
          metadata: {name: a%1$d-v2}
          spec: {agent: a%1$d, endpoints: [{url: "http://127.0.0.1:9"}], models: [{id: m-2024-01-01}]}
          ---
          apiVersion: flightdeck.dev/v1alpha1
          kind: Rollout
          metadata: {name: r%1$d}
          spec:
            agent: a%1$d
            candidate: a%1$d-v2
            strategy:
              canary:
                steps:
          """.formatted(i));
      for (int w : WEIGHTS) {
        y.append("          - setWeight: ").append(w).append('\n');
        y.append("          - pause: {duration: ").append(150 + 50 * i).append("ms}\n");
      }
    }
    return y.toString();
  }

  /** The candidate's weight once the first {@code steps} steps are done. */
  private static int weightAfter(int steps) {
    int w = 0;
    for (int i = 0; i < steps && i < 2 * WEIGHTS.length; i++) {
      if (i % 2 == 0) {
        w = WEIGHTS[i / 2];
      }
    }
    return w;
  }

  @Test
  void killDashNineAtRandomPointsOfManyRollouts_neverSkipsOrRepeatsAStep_andLosesNoAuditEntry() throws Exception {
    Random random = new Random(7);
    Child child = startChild();
    try {
      run(child, random);
    } finally {
      children.forEach(Process::destroyForcibly);
    }
  }

  private final List<Process> children = new ArrayList<>();

  private void run(Child first, Random random) throws Exception {
    Child child = first;
    ApiClient.Response applied = child.api().send("POST", "/api/v1/apply", "application/yaml",
        resources().getBytes(StandardCharsets.UTF_8));
    assertThat(applied.status()).as(applied.body()).isEqualTo(200);
    for (int kill = 0; kill < KILLS; kill++) {
      Thread.sleep(300 + random.nextInt(1500));
      child.process().destroyForcibly();
      assertThat(child.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(child.process().exitValue()).as("killed by SIGKILL").isEqualTo(137);
      check(false);
      child = startChild();
    }
    // Let every rollout finish, then check the end state.
    long deadline = System.currentTimeMillis() + 60_000;
    while (System.currentTimeMillis() < deadline) {
      boolean done = true;
      for (int i = 0; i < ROLLOUTS; i++) {
        JsonNode s = child.api().get("/api/v1/rollouts/r" + i + "/status").json();
        done &= s.path("phase").asText().equals("Promoted");
      }
      if (done) {
        break;
      }
      Thread.sleep(200);
    }
    Thread.sleep(500); // a tick after the last promotion writes its routing
    child.process().destroyForcibly();
    child.process().waitFor(30, TimeUnit.SECONDS);
    check(true);
    assertThat(caughtMidway).as("kills that caught a rollout part-way through").isGreaterThanOrEqualTo(KILLS);
  }

  /** The invariants, read from the store of the killed process. */
  private void check(boolean finished) {
    try (Database db = Database.open(Optional.empty(), dir); AuditLog audit = AuditLogs.open(db, dir)) {
      ResourceStore resources = new ResourceStore(db, audit, Clock.systemUTC());
      RolloutStore store = new RolloutStore(db, audit);
      assertThat(audit.verify().firstBad()).as("audit chain").isEmpty();
      Map<String, Integer> audited = new HashMap<>();
      for (AuditEntry e : audit.list(0, 1_000_000)) {
        if (e.event().action().startsWith("rollout.")) {
          audited.merge(e.event().resource(), 1, Integer::sum);
        }
      }
      for (int i = 0; i < ROLLOUTS; i++) {
        String name = "r" + i;
        Optional<RolloutStore.Stored> stored = store.get(name);
        if (stored.isEmpty()) {
          assertThat(finished).as("%s never started", name).isFalse();
          continue;
        }
        RolloutState state = RolloutState.fromJson(stored.get().state());
        List<RolloutStore.Decision> decisions = store.decisions(name, 100_000);
        // Every transition is a decision, every decision is audited: nothing lost, nothing extra.
        assertThat(decisions).hasSize((int) stored.get().seq());
        assertThat(audited.getOrDefault("rollout/" + name, 0)).as("audit entries of %s", name).isEqualTo(decisions.size());
        // Steps completed in order, each once.
        int expectedStep = 0;
        for (RolloutStore.Decision d : decisions) {
          if (d.action().equals("step.completed")) {
            assertThat(d.step()).as("%s: steps in order, none skipped or repeated: %s", name, decisions)
                .isEqualTo(expectedStep++);
          }
        }
        assertThat(state.step()).isEqualTo(expectedStep);
        // Routing follows the stored state, or the one before when the kill fell between the two writes.
        Resource agent = resources.get(Kind.AGENT, state.agent()).orElseThrow();
        int candidateWeight = 0;
        for (JsonNode r : agent.spec().path("routes")) {
          if (r.path("version").asText().equals(state.candidate())) {
            candidateWeight = r.path("weight").asInt();
          }
        }
        int now = state.phase() == Phase.Promoted ? 100 : weightAfter(state.step());
        int before = state.phase() == Phase.Promoted ? weightAfter(state.step()) : weightAfter(Math.max(0, state.step() - 1));
        if (finished) {
          assertThat(state.phase()).isEqualTo(Phase.Promoted);
          assertThat(state.step()).isEqualTo(2 * WEIGHTS.length);
          assertThat(candidateWeight).isEqualTo(100);
          assertThat(decisions.get(decisions.size() - 1).action()).isEqualTo("promoted");
        } else {
          if (state.phase() == Phase.Progressing && state.step() > 0) {
            caughtMidway++;
          }
          assertThat(candidateWeight).as("%s at step %d (%s)", name, state.step(), state.phase()).isIn(now, before);
        }
      }
    }
  }
}

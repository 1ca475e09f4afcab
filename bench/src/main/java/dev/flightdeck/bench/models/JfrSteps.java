package dev.flightdeck.bench.models;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where the model gateway's CPU goes, by step of a call. Reads a JFR recording of the server made
 * with JDK 25's CPU-time sampler ({@code jdk.CPUTimeSample}, as {@code JFR_DIR=... bench/models/run.sh}
 * records it), weighs each sample by the CPU time it stands for, and files it under the innermost
 * step of {@code ModelGateway} on its stack (the key lookup, the JSON parse, the budget
 * statements, the upstream call, the answer relay...), or, outside a call, under the machinery
 * that ran it (Jetty's server or client I/O, the virtual-thread scheduler). The JVM's own threads
 * are added from their events: GC ({@code jdk.GCCPUTime}) and JIT ({@code jdk.CompilerStatistics}).
 *
 * <pre>
 * java -cp bench/target/benchmarks.jar dev.flightdeck.bench.models.JfrSteps gateway.jfr \
 *   [--calls N] [--window START_MS-END_MS ...]
 * </pre>
 * {@code --window} (epoch milliseconds, repeatable) keeps only what happened inside, e.g. the
 * gateway's measured rounds (the script passes them from OpenLoopLoad's output); {@code --calls}
 * (the calls made inside the windows) adds CPU milliseconds per call.
 */
public final class JfrSteps {

  /**
   * Steps of a call, by method-name prefix. The innermost wins: frames are tested from the leaf
   * up, and the first one matching a rule names the step (so the budget statement inside
   * {@code reserve} counts as the statement, and a Jetty frame inside {@code attempt} as the
   * upstream request).
   */
  private static final List<String[]> STEPS = List.of(
      new String[] {"dev.flightdeck.store.budget.BudgetStore.reserve", "budget reserve: one statement in PostgreSQL (JDBC, pool)"},
      new String[] {"dev.flightdeck.store.budget.BudgetStore.settle", "budget settle: one statement in PostgreSQL (JDBC, pool)"},
      new String[] {"dev.flightdeck.store.key.ModelKeyStore.hash", "identity: SHA-256 of the key"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway$Call.authenticate", "identity: key lookup"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway$Call.readBody", "request body read"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway$Call.parse", "request JSON parse"},
      new String[] {"dev.flightdeck.gateway.model.Models.fingerprint", "runaway: call fingerprint"},
      new String[] {"dev.flightdeck.gateway.model.Runaway.", "runaway: session state"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway$Call.admit", "rate limits"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway$Call.counters", "budget: counter keys and worst case (Java)"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway$Call.worstCaseNano", "budget: counter keys and worst case (Java)"},
      new String[] {"dev.flightdeck.gateway.model.Models.promptTokenBound", "budget: counter keys and worst case (Java)"},
      new String[] {"dev.flightdeck.gateway.model.Models.maxOutputTokens", "budget: counter keys and worst case (Java)"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway$Call.reserve", "budget: reservation headers"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway$Call.account", "accounting: ledger, runaway tokens, metrics"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway$Call.count", "metrics: counters"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway.count", "metrics: counters"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway.counter", "metrics: counters"},
      new String[] {"dev.flightdeck.gateway.telemetry.Usage.fromDocument", "answer: usage parse"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway.readAll", "answer: read from the provider (blocking stream)"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway$Call.write", "answer: write to the client"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway$Call.headers", "answer: response headers"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway$Call$Relay.deliver", "answer: relay (other)"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway$Call.attempt", "upstream request: JSON copy and write, client send, wait"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway$Call.settle", "settle bookkeeping (cache, metrics)"},
      new String[] {"dev.flightdeck.gateway.model.ModelGateway", "model gateway: other steps"},
      new String[] {"dev.flightdeck.gateway.GatewayHandler", "gateway handler: routing"});

  /** Outside any step: the machinery that ran the sample, tested the same way. */
  private static final List<String[]> MACHINERY = List.of(
      new String[] {"org.eclipse.jetty.client.", "Jetty client I/O (provider answers: parsing, selector)"},
      new String[] {"org.eclipse.jetty.server.", "Jetty server I/O (requests: parsing, selector, writes)"},
      new String[] {"org.eclipse.jetty.", "Jetty I/O (selector, buffers)"},
      new String[] {"com.zaxxer.hikari.", "JDBC pool (background)"},
      new String[] {"org.postgresql.", "JDBC driver (background)"},
      new String[] {"java.util.concurrent.ForkJoinPool", "virtual-thread scheduler (carrier threads)"},
      new String[] {"java.lang.VirtualThread", "virtual-thread scheduler (carrier threads)"},
      new String[] {"io.micrometer.", "metrics (background)"},
      new String[] {"io.javalin.", "API server (background)"});

  private JfrSteps() {}

  /** Prints the table for the recording in {@code args[0]}; see the class comment for the options. */
  public static void main(String[] args) throws Exception {
    Path file = Path.of(args[0]);
    long calls = 0;
    List<long[]> windows = new ArrayList<>();
    for (int i = 1; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--calls" -> calls = Long.parseLong(args[i + 1]);
        case "--window" -> {
          String[] w = args[i + 1].split("-");
          windows.add(new long[] {Long.parseLong(w[0]), Long.parseLong(w[1])});
        }
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    Map<String, Long> steps = new HashMap<>();
    Map<String, Long> unmatched = new HashMap<>();
    long samples = 0;
    long sampledNanos = 0;
    long lost = 0;
    double processCpuSeconds = 0;
    long gcNanos = 0;
    int cores = Runtime.getRuntime().availableProcessors();
    List<RecordedEvent> compilerStats = new ArrayList<>();
    for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
      String type = e.getEventType().getName();
      if (type.equals("jdk.CompilerStatistics")) {
        compilerStats.add(e);
        continue;
      }
      if (!inside(e.getStartTime(), windows)) {
        continue;
      }
      switch (type) {
        case "jdk.CPUTimeSample" -> {
          // Each sample stands for the thread's CPU time since its previous one (the sampler
          // stretches its period when it cannot keep up).
          long weight = e.getDuration("samplingPeriod").toNanos();
          samples++;
          sampledNanos += weight;
          steps.merge(step(e.getStackTrace(), unmatched), weight, Long::sum);
        }
        case "jdk.CPUTimeSamplesLost" -> lost += e.getLong("lostSamples");
        // One event a second: the process's share of all CPUs since the previous one.
        case "jdk.CPULoad" -> processCpuSeconds += (e.getFloat("jvmUser") + e.getFloat("jvmSystem")) * cores;
        case "jdk.GCCPUTime" -> gcNanos += e.getDuration("userTime").toNanos() + e.getDuration("systemTime").toNanos();
        default -> { }
      }
    }
    if (samples == 0) {
      System.out.println("No jdk.CPUTimeSample events in " + file + (windows.isEmpty() ? "" : " inside the windows given")
          + ": record with -XX:StartFlightRecording:jdk.CPUTimeSample#enabled=true (JDK 25 or later).");
      return;
    }
    double jitSeconds = jitSeconds(compilerStats, windows);
    long perCall = Math.max(calls, 1);
    System.out.printf(Locale.ROOT, "%,d CPU-time samples standing for %.1f s of CPU (%,d more lost); process CPU %.1f s"
        + " (jdk.CPULoad)%s.%n%n", samples, sampledNanos / 1e9, lost, processCpuSeconds,
        windows.isEmpty() ? "" : ", inside " + windows.size() + " window(s)");
    System.out.println("| step | CPU s | share of sampled | CPU ms per call |");
    System.out.println("|---|---:|---:|---:|");
    List<Map.Entry<String, Long>> sorted = steps.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed()).toList();
    for (var en : sorted) {
      System.out.printf(Locale.ROOT, "| %s | %.2f | %.1f%% | %.3f |%n", en.getKey(), en.getValue() / 1e9,
          100.0 * en.getValue() / sampledNanos, en.getValue() / 1e6 / perCall);
    }
    System.out.printf(Locale.ROOT, "| **Java threads, sampled** | **%.2f** | 100%% | **%.3f** |%n", sampledNanos / 1e9,
        sampledNanos / 1e6 / perCall);
    double lostSeconds = lost * (sampledNanos / 1e9 / samples);
    double rest = processCpuSeconds - sampledNanos / 1e9 - lostSeconds - gcNanos / 1e9;
    System.out.printf(Locale.ROOT, "| samples lost by the sampler (%,d, at the mean period) | %.2f | | %.3f |%n", lost,
        lostSeconds, lostSeconds * 1e3 / perCall);
    System.out.printf(Locale.ROOT, "| GC threads (jdk.GCCPUTime) | %.2f | | %.3f |%n", gcNanos / 1e9, gcNanos / 1e6 / perCall);
    System.out.printf(Locale.ROOT, "| the rest: JIT compiler and other VM threads (process CPU less the above) | %.2f | | %.3f |%n",
        rest, rest * 1e3 / perCall);
    System.out.printf(Locale.ROOT, "| **process CPU** (jdk.CPULoad) | **%.2f** | | **%.3f** |%n", processCpuSeconds,
        processCpuSeconds * 1e3 / perCall);
    System.out.printf(Locale.ROOT, "%nJIT compilations' wall time meanwhile (jdk.CompilerStatistics; not CPU time): %.1f s%n",
        jitSeconds);
    if (!unmatched.isEmpty()) {
      System.out.println();
      System.out.println("Largest \"other\" leaves: " + String.join(", ", unmatched.entrySet().stream()
          .sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(5)
          .map(en -> en.getKey() + " " + en.getValue()).toList()));
    }
  }

  private static boolean inside(Instant t, List<long[]> windows) {
    if (windows.isEmpty()) {
      return true;
    }
    long ms = t.toEpochMilli();
    return windows.stream().anyMatch(w -> ms >= w[0] && ms <= w[1]);
  }

  /** Compilation time inside the windows: the growth of totalTimeSpent across each one. */
  private static double jitSeconds(List<RecordedEvent> stats, List<long[]> windows) {
    if (stats.isEmpty()) {
      return 0;
    }
    List<RecordedEvent> sorted = stats.stream().sorted(Comparator.comparing(RecordedEvent::getStartTime)).toList();
    List<long[]> ws = windows.isEmpty()
        ? List.of(new long[] {Long.MIN_VALUE, Long.MAX_VALUE}) : windows;
    double total = 0;
    for (long[] w : ws) {
      RecordedEvent first = null;
      RecordedEvent last = null;
      for (RecordedEvent e : sorted) {
        long ms = e.getStartTime().toEpochMilli();
        if (ms >= w[0] && ms <= w[1]) {
          first = first == null ? e : first;
          last = e;
        }
      }
      if (first != null) {
        total += (last.getDuration("totalTimeSpent").toNanos() - first.getDuration("totalTimeSpent").toNanos()) / 1e9;
      }
    }
    return total;
  }

  private static String step(RecordedStackTrace stack, Map<String, Long> unmatched) {
    if (stack == null || stack.getFrames().isEmpty()) {
      return "no stack (native or VM code)";
    }
    for (List<String[]> rules : List.of(STEPS, MACHINERY)) {
      for (RecordedFrame f : stack.getFrames()) {
        String m = f.getMethod().getType().getName() + "." + f.getMethod().getName();
        for (String[] rule : rules) {
          if (m.startsWith(rule[0])) {
            return rule[1];
          }
        }
      }
    }
    RecordedFrame leaf = stack.getFrames().get(0);
    unmatched.merge(leaf.getMethod().getType().getName() + "." + leaf.getMethod().getName(), 1L, Long::sum);
    return "other";
  }
}

package dev.flightdeck.bench.models;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.eclipse.jetty.client.BufferingResponseListener;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.http.HttpCookieStore;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * An open-loop load generator: sends POST requests at a fixed rate, each at its intended time
 * whatever happened to the earlier ones, and measures every latency from that intended time, so
 * a stall (a GC pause, a full pool, a slow lock) shows as the queueing it causes instead of
 * silently lowering the rate (the "coordinated omission" of closed-loop tools such as hey,
 * whose workers wait for an answer before sending the next request). Latencies go to an
 * HdrHistogram (1 µs to 60 s, 3 significant digits).
 *
 * <p>Requests are sent asynchronously with Jetty's HTTP client (no thread per request): on a
 * 2-core machine the generator shares the CPUs with what it measures, so it must be cheap.
 * Several targets are measured in the same JVM, alternating round by round, so they share the
 * same JIT state, machine noise and connection setup. Each target is first warmed up at 10%,
 * 25%, 50% and 100% of the rate, a quarter of the warm-up each (not reported, but its errors
 * count).
 *
 * <p>Used by {@code bench/models/run.sh}; by hand (after {@code ./mvnw -q -pl bench -am package -DskipTests}):
 * <pre>
 * java -cp bench/target/benchmarks.jar dev.flightdeck.bench.models.OpenLoopLoad \
 *   --target direct=http://127.0.0.1:8089/v1/chat/completions \
 *   --target gateway=http://127.0.0.1:7080/v1/chat/completions \
 *   --header 'Authorization: Bearer fdk_...' --body-file body.json \
 *   --rate 2000 --warmup 15 --duration 20 --rounds 3 --sessions 1000
 * </pre>
 * The body file's {@code {{n}}} is replaced by the request's sequence number (so no two
 * requests are identical); each request gets the header {@code X-Flightdeck-Session: bench-K}
 * with K = n mod sessions. {@code --cpu server=PID} (repeatable; {@code NAME=comm:postgres} for
 * every process of that command) adds the CPU time each group used per request, from /proc.
 * Prints Markdown tables on stdout; exits 1 when any answer was not 200 (or failed), after
 * printing them.
 */
public final class OpenLoopLoad {

  private static final long MAX_LATENCY_NANOS = TimeUnit.SECONDS.toNanos(60);
  private static final double[] PERCENTILES = {50, 90, 99, 99.9};
  private static final double[] WARMUP_STEPS = {0.1, 0.25, 0.5, 1.0};

  private final HttpClient client;
  private final List<String> headers;
  private final String bodyTemplate;
  private final int sessions;
  private final AtomicLong sequence = new AtomicLong();
  private final CpuMeter cpu;

  private OpenLoopLoad(HttpClient client, List<String> headers, String bodyTemplate, int sessions, CpuMeter cpu) {
    this.client = client;
    this.cpu = cpu;
    this.headers = headers;
    this.bodyTemplate = bodyTemplate;
    this.sessions = sessions;
  }

  /** One measured phase of one target. */
  record Phase(String target, int round, long sent, long ok, Map<String, Long> errors, double seconds,
      Histogram latency, String firstError, Map<String, Double> cpuSeconds, long startMillis, long endMillis) {

    double achievedRate() {
      return ok / seconds;
    }

    double ms(double percentile) {
      return latency.getValueAtPercentile(percentile) / 1e6;
    }

    long errorCount() {
      return errors.values().stream().mapToLong(Long::longValue).sum();
    }
  }

  /** Runs the measurement the arguments describe; see the class comment. */
  public static void main(String[] args) throws Exception {
    Map<String, String> targets = new LinkedHashMap<>();
    List<String> headers = new ArrayList<>();
    Path bodyFile = null;
    int rate = 2000;
    int warmup = 15;
    int duration = 20;
    int rounds = 3;
    int sessions = 1000;
    double pause = 1.0;
    CpuMeter cpu = new CpuMeter();
    cpu.add("load=self");
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String v = i + 1 < args.length ? args[i + 1] : null;
      if (v == null) {
        usage("missing a value after " + a);
      }
      i++;
      switch (a) {
        case "--target" -> {
          int eq = v.indexOf('=');
          if (eq <= 0) {
            usage("--target: expected NAME=URL, got " + v);
          }
          targets.put(v.substring(0, eq), v.substring(eq + 1));
        }
        case "--header" -> headers.add(v);
        case "--body-file" -> bodyFile = Path.of(v);
        case "--rate" -> rate = Integer.parseInt(v);
        case "--warmup" -> warmup = Integer.parseInt(v);
        case "--duration" -> duration = Integer.parseInt(v);
        case "--rounds" -> rounds = Integer.parseInt(v);
        case "--sessions" -> sessions = Integer.parseInt(v);
        case "--pause" -> pause = Double.parseDouble(v);
        case "--cpu" -> cpu.add(v);
        default -> usage("unknown option " + a);
      }
    }
    if (targets.isEmpty() || bodyFile == null || rate <= 0 || duration <= 0 || rounds <= 0 || sessions <= 0) {
      usage("need at least one --target, a --body-file, and positive --rate, --duration, --rounds, --sessions");
    }
    String body = Files.readString(bodyFile, StandardCharsets.UTF_8);

    QueuedThreadPool pool = new QueuedThreadPool(8, 2);
    pool.setName("load-client");
    pool.setReservedThreads(0);
    HttpClient client = new HttpClient();
    client.setExecutor(pool);
    client.setMaxConnectionsPerDestination(4096);
    client.setMaxRequestsQueuedPerDestination(1 << 20);
    client.setIdleTimeout(TimeUnit.MINUTES.toMillis(5));
    client.setConnectTimeout(5_000);
    client.setFollowRedirects(false);
    client.setHttpCookieStore(new HttpCookieStore.Empty());
    client.setUserAgentField(null);
    client.start();
    int exit;
    try {
      OpenLoopLoad load = new OpenLoopLoad(client, headers, body, sessions, cpu);
      List<Phase> phases = new ArrayList<>();
      for (var t : targets.entrySet()) {
        // A cold JVM (the generator's, the server's) and cold caches cannot take the full rate
        // at once, and a backlog built then takes long to drain: climb to it in four steps.
        for (double share : WARMUP_STEPS) {
          int stepRate = Math.max(1, (int) Math.round(rate * share));
          int stepSeconds = Math.max(1, warmup / WARMUP_STEPS.length);
          log("warm-up %s: %d s at %d req/s", t.getKey(), stepSeconds, stepRate);
          Phase w = load.run(t.getKey(), 0, t.getValue(), stepRate, stepSeconds);
          log("  %s", summary(w));
          phases.add(w);
        }
        sleep(pause);
      }
      for (int r = 1; r <= rounds; r++) {
        for (var t : targets.entrySet()) {
          log("round %d/%d %s: %d s at %d req/s", r, rounds, t.getKey(), duration, rate);
          Phase p = load.run(t.getKey(), r, t.getValue(), rate, duration);
          log("  %s", summary(p));
          phases.add(p);
          sleep(pause);
        }
      }
      exit = report(phases, List.copyOf(targets.keySet()), rate, duration, warmup, rounds, sessions, cpu.names());
    } finally {
      client.stop();
    }
    System.exit(exit);
  }

  /** Sends {@code rate} requests a second to {@code url} for {@code seconds}; waits for every answer. */
  private Phase run(String target, int round, String url, int rate, int seconds) throws InterruptedException {
    long total = (long) rate * seconds;
    double periodNanos = 1e9 / rate;
    Recorder recorder = new Recorder(TimeUnit.MICROSECONDS.toNanos(1), MAX_LATENCY_NANOS, 3);
    AtomicLong ok = new AtomicLong();
    Map<String, Long> errors = new ConcurrentHashMap<>();
    String[] firstError = new String[1];
    CountDownLatch done = new CountDownLatch((int) total);
    AtomicLong lastAnswer = new AtomicLong();
    Map<String, Double> cpuBefore = cpu.sample();
    long startMillis = System.currentTimeMillis();
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
    for (long i = 0; i < total; i++) {
      long intended = start + (long) (i * periodNanos);
      long wait;
      while ((wait = intended - System.nanoTime()) > 0) {
        LockSupport.parkNanos(wait);
      }
      long n = sequence.getAndIncrement();
      byte[] payload = bodyTemplate.replace("{{n}}", Long.toString(n)).getBytes(StandardCharsets.UTF_8);
      var request = client.newRequest(url).method(HttpMethod.POST).timeout(30, TimeUnit.SECONDS)
          .headers(h -> {
            for (String header : headers) {
              int colon = header.indexOf(':');
              h.put(header.substring(0, colon).strip(), header.substring(colon + 1).strip());
            }
            h.put("X-Flightdeck-Session", "bench-" + (n % sessions));
          })
          .body(new BytesRequestContent("application/json", payload));
      request.send(new BufferingResponseListener(1 << 20) {
        @Override
        public void onComplete(Result result) {
          long now = System.nanoTime();
          recorder.recordValue(Math.min(Math.max(now - intended, 1_000), MAX_LATENCY_NANOS));
          lastAnswer.accumulateAndGet(now, Math::max);
          if (result.isSucceeded() && result.getResponse().getStatus() == 200) {
            ok.incrementAndGet();
          } else {
            String what = result.isFailed()
                ? result.getFailure().getClass().getSimpleName()
                : "HTTP " + result.getResponse().getStatus();
            errors.merge(what, 1L, Long::sum);
            synchronized (firstError) {
              if (firstError[0] == null) {
                firstError[0] = what + (result.isFailed() ? ": " + result.getFailure().getMessage()
                    : ": " + getContentAsString(StandardCharsets.UTF_8));
              }
            }
          }
          done.countDown();
        }
      });
    }
    if (!done.await(60, TimeUnit.SECONDS)) {
      errors.merge("no answer within 60 s after the last send", done.getCount(), Long::sum);
    }
    double elapsed = (Math.max(lastAnswer.get(), start + 1) - start) / 1e9;
    Map<String, Double> cpuUsed = new LinkedHashMap<>();
    cpu.sample().forEach((k, v) -> cpuUsed.put(k, v - cpuBefore.getOrDefault(k, v)));
    return new Phase(target, round, total, ok.get(), new TreeMap<>(errors), elapsed, recorder.getIntervalHistogram(),
        firstError[0], cpuUsed, startMillis, System.currentTimeMillis());
  }

  /** Prints the tables; returns the exit status (1 when there were errors). */
  private static int report(List<Phase> phases, List<String> targets, int rate, int duration, int warmup, int rounds,
      int sessions, List<String> cpuGroups) {
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT, "### Latency at %,d req/s, open loop (%d rounds of %d s per target,"
        + " alternating, after %d s of warm-up each; %,d sessions)%n%n", rate, rounds, duration, warmup, sessions));
    out.append("Milliseconds from each request's intended send time to its last response byte.\n\n");
    out.append("| round | target | sent | achieved req/s | p50 | p90 | p99 | p99.9 | max | errors |\n");
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (Phase p : phases) {
      if (p.round() == 0) {
        continue;
      }
      out.append(String.format(Locale.ROOT, "| %d | %s | %,d | %,.0f | %.3f | %.3f | %.3f | %.3f | %.3f | %d |%n",
          p.round(), p.target(), p.sent(), p.achievedRate(), p.ms(50), p.ms(90), p.ms(99), p.ms(99.9),
          p.latency().getMaxValue() / 1e6, p.errorCount()));
    }
    out.append("\n**Median over rounds**\n\n");
    out.append("| target | p50 | p90 | p99 | p99.9 |\n|---|---:|---:|---:|---:|\n");
    for (String t : targets) {
      out.append("| ").append(t);
      for (double pct : PERCENTILES) {
        out.append(String.format(Locale.ROOT, " | %.3f", median(measured(phases, t).stream().mapToDouble(p -> p.ms(pct)))));
      }
      out.append(" |\n");
    }
    if (targets.size() >= 2) {
      String base = targets.get(0);
      for (String t : targets.subList(1, targets.size())) {
        out.append(String.format(Locale.ROOT, "%n**Added by %s (%s − %s, same round)**%n%n", t, t, base));
        out.append("| round | p50 | p90 | p99 | p99.9 | p50 ratio |\n|---|---:|---:|---:|---:|---:|\n");
        List<Phase> a = measured(phases, t);
        List<Phase> b = measured(phases, base);
        double[][] added = new double[PERCENTILES.length][a.size()];
        double[] ratio = new double[a.size()];
        for (int r = 0; r < a.size(); r++) {
          out.append("| ").append(r + 1);
          for (int k = 0; k < PERCENTILES.length; k++) {
            added[k][r] = a.get(r).ms(PERCENTILES[k]) - b.get(r).ms(PERCENTILES[k]);
            out.append(String.format(Locale.ROOT, " | %+.3f", added[k][r]));
          }
          ratio[r] = a.get(r).ms(50) / b.get(r).ms(50);
          out.append(String.format(Locale.ROOT, " | %.2f |%n", ratio[r]));
        }
        out.append("| **median**");
        for (int k = 0; k < PERCENTILES.length; k++) {
          out.append(String.format(Locale.ROOT, " | **%+.3f**", median(Arrays.stream(added[k]))));
        }
        out.append(String.format(Locale.ROOT, " | **%.2f** |%n", median(Arrays.stream(ratio))));
        // Machine-readable, for the script.
        out.append(String.format(Locale.ROOT, "%n<!-- added %s p50=%.3f p99=%.3f -->%n", t,
            median(Arrays.stream(added[0])), median(Arrays.stream(added[2]))));
      }
    }
    out.append("\n**CPU time per request, ms (median over rounds)** — \"machine\" is every process on every CPU,"
        + " other users' included; \"cores busy\" is the machine's CPU time over the phase's wall time\n\n");
    out.append("| target |");
    cpuGroups.forEach(g -> out.append(' ').append(g).append(" |"));
    out.append(" cores busy |\n|---|");
    cpuGroups.forEach(g -> out.append("---:|"));
    out.append("---:|\n");
    for (String t : targets) {
      List<Phase> ps = measured(phases, t);
      out.append("| ").append(t).append(" |");
      for (String g : cpuGroups) {
        out.append(String.format(Locale.ROOT, " %.3f |",
            median(ps.stream().mapToDouble(p -> p.cpuSeconds().getOrDefault(g, 0.0) * 1000 / p.sent()))));
      }
      out.append(String.format(Locale.ROOT, " %.2f |%n",
          median(ps.stream().mapToDouble(p -> p.cpuSeconds().getOrDefault("machine", 0.0) / p.seconds()))));
    }
    long errors = 0;
    StringBuilder machine = new StringBuilder();
    out.append("\n**Answers** (warm-up included)\n\n| target | sent | 200 | errors |\n|---|---:|---:|---|\n");
    for (String t : targets) {
      long sent = 0;
      long ok = 0;
      Map<String, Long> byKind = new TreeMap<>();
      for (Phase p : phases) {
        if (p.target().equals(t)) {
          sent += p.sent();
          ok += p.ok();
          p.errors().forEach((k, v) -> byKind.merge(k, v, Long::sum));
          errors += p.errorCount();
        }
      }
      out.append(String.format(Locale.ROOT, "| %s | %d | %d | %s |%n", t, sent, ok, byKind.isEmpty() ? "0" : byKind));
      machine.append(String.format(Locale.ROOT, "<!-- answers %s sent=%d ok=%d -->%n", t, sent, ok));
    }
    for (Phase p : phases) {
      if (p.round() > 0) {
        machine.append(String.format(Locale.ROOT, "<!-- phase %s round=%d start=%d end=%d sent=%d -->%n", p.target(),
            p.round(), p.startMillis(), p.endMillis(), p.sent()));
      }
    }
    out.append('\n').append(machine);
    System.out.print(out);
    System.out.flush();
    if (errors > 0) {
      phases.stream().filter(p -> p.firstError() != null).findFirst()
          .ifPresent(p -> log("the first failed answer (%s, round %d): %s", p.target(), p.round(), p.firstError()));
      log("FAILED: %d answers were not 200 (see the Answers table)", errors);
      return 1;
    }
    return 0;
  }

  private static List<Phase> measured(List<Phase> phases, String target) {
    return phases.stream().filter(p -> p.round() > 0 && p.target().equals(target)).toList();
  }

  private static double median(java.util.stream.DoubleStream values) {
    double[] v = values.sorted().toArray();
    int n = v.length;
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }

  private static String summary(Phase p) {
    return String.format(Locale.ROOT, "%s: %,.0f req/s, p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms, errors %d",
        p.target(), p.achievedRate(), p.ms(50), p.ms(99), p.ms(99.9), p.latency().getMaxValue() / 1e6, p.errorCount());
  }

  private static void sleep(double seconds) throws InterruptedException {
    Thread.sleep((long) (seconds * 1000));
  }

  private static void log(String format, Object... args) {
    System.err.printf(Locale.ROOT, "[load] " + format + "%n", args);
  }

  private static void usage(String problem) {
    System.err.println("OpenLoopLoad: " + problem);
    System.err.println("usage: OpenLoopLoad --target NAME=URL [--target NAME=URL ...] --body-file FILE"
        + " [--header 'Name: value' ...] [--rate 2000] [--warmup 15] [--duration 20] [--rounds 3] [--sessions 1000]"
        + " [--pause 1] [--cpu NAME=PID[,PID...] | NAME=comm:COMMAND ...]");
    System.exit(2);
  }
}

package dev.flightdeck.eval.run;

import dev.flightdeck.eval.assertion.Assertion;
import dev.flightdeck.eval.assertion.AssertionContext;
import dev.flightdeck.eval.assertion.Check;
import dev.flightdeck.eval.assertion.RunOutput;
import dev.flightdeck.eval.pii.PiiDetector;
import dev.flightdeck.eval.report.RunRecord;
import dev.flightdeck.eval.report.RunRecord.CheckRecord;
import dev.flightdeck.eval.report.RunRecord.Outcome;
import dev.flightdeck.eval.stats.Decision;
import dev.flightdeck.eval.stats.SequentialTest;
import dev.flightdeck.eval.suite.Suite;
import dev.flightdeck.eval.suite.Suite.EvalCase;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.client.CompletableResponseListener;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.StringRequestContent;

/**
 * Runs every case of a suite N times against a target, at most {@code concurrency} runs at a
 * time, each with its own deadline; retries a run only when no response was received (connection
 * refused or reset), never when the agent answered or was slow. In adaptive mode each case stops
 * as soon as its {@link SequentialTest} settles the verdict.
 *
 * <p>Runs execute on virtual threads; the semaphore, not a pool size, is the concurrency limit.
 */
public final class EvalRunner implements AutoCloseable {

  /** What a suite run produced, before statistics. */
  public record Result(Instant startedAt, Duration took, List<CaseRun> cases, long calls, long cached,
      long planned, boolean unreachable) {}

  /** All runs of one case, by index. */
  public record CaseRun(EvalCase evalCase, List<RunRecord> runs, boolean stoppedEarly) {}

  private static final int MAX_ANSWER_CHARS = 4000;
  private static final java.util.regex.Pattern NOT_PRINTABLE = java.util.regex.Pattern.compile("[^\\x20-\\x7e]");
  private static final int MAX_BODY_BYTES = 8 * 1024 * 1024;

  private final org.eclipse.jetty.client.HttpClient http;
  private final AssertionContext context;
  private final Optional<RunCache> cache;
  private final Progress progress;
  private final PiiDetector redactor = PiiDetector.standard();
  /** Redacted texts by original: the runs of a case often repeat an answer word for word. */
  private final Map<String, String> redacted = new ConcurrentHashMap<>();

  /** A runner with its own HTTP client (close it), this assertion context, optional cache and progress listener. */
  public EvalRunner(AssertionContext context, Optional<RunCache> cache, Progress progress) {
    this.context = context;
    this.cache = cache;
    this.progress = progress;
    this.http = new org.eclipse.jetty.client.HttpClient();
    http.setConnectTimeout(5_000);
    http.setFollowRedirects(false);
    http.setMaxConnectionsPerDestination(4096);
    http.setMaxRequestsQueuedPerDestination(1 << 20);
    http.setUserAgentField(new org.eclipse.jetty.http.HttpField(org.eclipse.jetty.http.HttpHeader.USER_AGENT,
        "flightdeck-eval"));
    try {
      http.start();
    } catch (Exception e) {
      throw new IllegalStateException("cannot start the HTTP client: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    try {
      http.stop();
    } catch (Exception e) {
      // stopping a client only releases connections; nothing to report
    }
  }

  /** A java.net.http client for the few calls beside the runs (judge, webhooks): HTTP/1.1, no redirects. */
  public static HttpClient defaultClient(Duration connectTimeout) {
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(connectTimeout)
        .followRedirects(HttpClient.Redirect.NEVER).build();
  }

  /** Runs the suite against the target. */
  public Result run(Suite suite, Target target) {
    Instant start = Instant.now();
    long t0 = System.nanoTime();
    Extraction extraction = new Extraction(suite.extract());
    Semaphore permits = new Semaphore(suite.concurrency());
    long planned = (long) suite.runs() * suite.cases().size();
    Counters counters = new Counters(planned);
    List<CaseRun> out;
    try (ExecutorService exec = Executors.newVirtualThreadPerTaskExecutor()) {
      Runner r = new Runner(suite, target, extraction, permits, counters, exec);
      out = suite.adaptive().enabled() ? r.adaptive() : r.fixed();
    }
    boolean unreachable = counters.done.get() > 0 && counters.unreachable.get() == counters.done.get();
    return new Result(start, Duration.ofNanos(System.nanoTime() - t0), out, counters.calls.get(),
        counters.cached.get(), planned, unreachable);
  }

  private final class Counters {
    final long planned;
    final AtomicLong done = new AtomicLong();
    final AtomicLong passed = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final AtomicLong calls = new AtomicLong();
    final AtomicLong cached = new AtomicLong();
    final AtomicLong unreachable = new AtomicLong();
    final AtomicLong answered = new AtomicLong();

    Counters(long planned) {
      this.planned = planned;
    }

    void finished(RunRecord r) {
      switch (r.outcome()) {
        case PASS -> passed.incrementAndGet();
        case FAIL, ERROR -> failed.incrementAndGet();
        case UNMEASURED -> { }
      }
      progress.update(done.incrementAndGet(), planned, passed.get(), failed.get());
    }
  }

  private final class Runner {
    final Suite suite;
    final Target target;
    final Extraction extraction;
    final Semaphore permits;
    final Counters counters;
    final ExecutorService exec;

    Runner(Suite suite, Target target, Extraction extraction, Semaphore permits, Counters counters,
        ExecutorService exec) {
      this.suite = suite;
      this.target = target;
      this.extraction = extraction;
      this.permits = permits;
      this.counters = counters;
      this.exec = exec;
    }

    List<CaseRun> fixed() {
      int n = suite.runs();
      List<EvalCase> cases = suite.cases();
      List<List<Future<RunRecord>>> futures = new ArrayList<>();
      cases.forEach(c -> futures.add(new ArrayList<>(n)));
      // Run index outermost: every case gets its first runs early, so progress is even.
      for (int i = 0; i < n; i++) {
        for (int c = 0; c < cases.size(); c++) {
          EvalCase ec = cases.get(c);
          int index = i;
          futures.get(c).add(exec.submit(() -> limited(ec, index)));
        }
      }
      List<CaseRun> out = new ArrayList<>();
      for (int c = 0; c < cases.size(); c++) {
        List<RunRecord> runs = new ArrayList<>();
        for (Future<RunRecord> f : futures.get(c)) {
          runs.add(join(f));
        }
        out.add(new CaseRun(cases.get(c), runs, false));
      }
      return out;
    }

    List<CaseRun> adaptive() {
      Suite.Adaptive a = suite.adaptive();
      SequentialTest test = SequentialTest.of(suite.caseThreshold(), a.alpha(), Math.min(a.minRuns(), suite.runs()),
          suite.runs());
      // Runs of one case go in small batches so its decision is re-taken often; cases run side by side.
      int batch = Math.max(1, Math.min(4, suite.concurrency() / Math.max(1, suite.cases().size())));
      List<Future<CaseRun>> drivers = new ArrayList<>();
      for (EvalCase ec : suite.cases()) {
        drivers.add(exec.submit(() -> {
          List<RunRecord> runs = new ArrayList<>();
          int passes = 0;
          int measured = 0;
          int next = 0;
          while (next < suite.runs()) {
            int size = runs.isEmpty() ? Math.min(suite.runs(), Math.max(batch, a.minRuns())) : Math.min(batch, suite.runs() - next);
            List<Future<RunRecord>> wave = new ArrayList<>();
            for (int k = 0; k < size; k++) {
              int index = next + k;
              wave.add(exec.submit(() -> limited(ec, index)));
            }
            next += size;
            for (Future<RunRecord> f : wave) {
              RunRecord r = join(f);
              runs.add(r);
              if (r.measured()) {
                measured++;
                passes += r.outcome() == Outcome.PASS ? 1 : 0;
              }
            }
            if (test.decide(passes, measured) != Decision.CONTINUE) {
              break;
            }
          }
          return new CaseRun(ec, runs, next < suite.runs());
        }));
      }
      List<CaseRun> out = new ArrayList<>();
      for (Future<CaseRun> d : drivers) {
        out.add(join(d));
      }
      return out;
    }

    private RunRecord limited(EvalCase ec, int index) throws InterruptedException {
      permits.acquire();
      try {
        RunRecord r = once(ec, index);
        counters.finished(r);
        return r;
      } finally {
        permits.release();
      }
    }

    private RunRecord once(EvalCase ec, int index) throws InterruptedException {
      String key = cache.isEmpty() ? "" : RunCache.key(target.id(), RunCache.sha256(ec.request().method() + " "
          + ec.request().path() + "\n" + ec.request().headers() + "\n" + ec.request().body().map(Object::toString)
          .orElse("")), index);
      Optional<RunCache.Stored> hit = cache.flatMap(c -> c.get(key));
      if (hit.isPresent()) {
        counters.cached.incrementAndGet();
        RunCache.Stored s = hit.get();
        return evaluate(ec, index, extraction.output(s.status(), s.body(), Duration.ofMillis(s.latencyMs())), true);
      }
      // A target that refused every run so far is down: fail the rest at once instead of retrying each.
      if (counters.answered.get() == 0 && counters.unreachable.get() >= Math.max(8, suite.concurrency())) {
        counters.unreachable.incrementAndGet();
        return error(index, "not attempted: the target refused the first " + Math.max(8, suite.concurrency())
            + " runs", Duration.ZERO);
      }
      String lastError = "";
      for (int attempt = 0; attempt <= suite.retries(); attempt++) {
        if (attempt > 0) {
          Thread.sleep(Math.min(2000, 50L << attempt));
        }
        counters.calls.incrementAndGet();
        long t = System.nanoTime();
        CompletableFuture<ContentResponse> f = new CompletableResponseListener(request(ec, index), MAX_BODY_BYTES).send();
        try {
          ContentResponse res = f.get();
          counters.answered.incrementAndGet();
          Duration latency = Duration.ofNanos(System.nanoTime() - t);
          String body = res.getContentAsString();
          cache.ifPresent(c -> c.put(key, new RunCache.Stored(res.getStatus(), body, latency.toMillis())));
          return evaluate(ec, index, extraction.output(res.getStatus(), body, latency), false);
        } catch (ExecutionException e) {
          Throwable cause = e.getCause();
          Duration took = Duration.ofNanos(System.nanoTime() - t);
          if (cause instanceof TimeoutException) {
            return error(index, "no complete answer within " + suite.timeout().toMillis() + "ms", took);
          }
          if (cause instanceof IllegalArgumentException && String.valueOf(cause.getMessage()).contains("capacity")) {
            return error(index, "the answer is larger than " + MAX_BODY_BYTES + " bytes; expected a bounded response", took);
          }
          if (!(cause instanceof IOException)) {
            return error(index, "request failed: " + cause, took);
          }
          lastError = describe(cause);
        }
      }
      counters.unreachable.incrementAndGet();
      return error(index, lastError + " (after " + (suite.retries() + 1) + " attempt(s))", Duration.ZERO);
    }

    private Request request(EvalCase ec, int index) {
      Suite.Request r = ec.request();
      Request req = http.newRequest(r.against(target.baseUrl())).method(r.method())
          .timeout(suite.timeout().toMillis(), TimeUnit.MILLISECONDS);
      String session = "eval-" + suite.name() + "-" + Integer.toHexString(ec.name().hashCode()) + "-" + index;
      String eval = suite.name() + "/" + NOT_PRINTABLE.matcher(ec.name()).replaceAll("?") + "/" + index;
      boolean json = r.body().isPresent() && r.headers().keySet().stream().noneMatch(h -> h.equalsIgnoreCase("content-type"));
      req.headers(h -> {
        target.headers().forEach(h::put);
        h.put("X-Flightdeck-Session", session);
        h.put("X-Flightdeck-Eval", eval);
        r.headers().forEach(h::put);
      });
      r.body().ifPresent(b -> req.body(new StringRequestContent(json ? "application/json" : null, b.toString(),
          StandardCharsets.UTF_8)));
      return req;
    }

    private RunRecord evaluate(EvalCase ec, int index, RunOutput out, boolean cached) {
      String answer = redact(out.answer().length() > MAX_ANSWER_CHARS
          ? out.answer().substring(0, MAX_ANSWER_CHARS) + "…" : out.answer());
      long ms = out.latency().toMillis();
      if (out.status() < 200 || out.status() > 299) {
        return new RunRecord(index, Outcome.FAIL, out.status(), ms, out.tokens(), out.cost(), answer, List.of(),
            Optional.of("agent answered HTTP " + out.status()), cached);
      }
      List<CheckRecord> checks = new ArrayList<>(ec.assertions().size());
      boolean fail = false;
      boolean unmeasured = false;
      for (Assertion a : ec.assertions()) {
        Check c;
        try {
          c = a.check(out, context);
        } catch (RuntimeException e) {
          c = Check.unmeasured("assertion failed to run: " + e);
        }
        fail |= c.status() == Check.Status.FAIL;
        unmeasured |= c.status() == Check.Status.UNMEASURED;
        checks.add(new CheckRecord(a.label(), c.status(), redact(c.message())));
      }
      Outcome o = fail ? Outcome.FAIL : unmeasured ? Outcome.UNMEASURED : Outcome.PASS;
      return new RunRecord(index, o, out.status(), ms, out.tokens(), out.cost(), answer, checks, Optional.empty(), cached);
    }

    private RunRecord error(int index, String message, Duration took) {
      return new RunRecord(index, Outcome.ERROR, 0, took.toMillis(), OptionalLong.empty(), OptionalDouble.empty(), "",
          List.of(), Optional.of(message), false);
    }
  }

  private String redact(String text) {
    if (text.length() > 512) {
      return redactor.redact(text);
    }
    String r = redacted.get(text);
    if (r == null) {
      r = redactor.redact(text);
      if (redacted.size() < 50_000) {
        redacted.put(text, r);
      }
    }
    return r;
  }

  private static String describe(Throwable t) {
    if (t instanceof ConnectException) {
      return "connection refused";
    }
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }

  private static <T> T join(Future<T> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running the suite", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("a run failed unexpectedly: " + e.getCause(), e.getCause());
    }
  }
}

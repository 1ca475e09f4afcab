package dev.flightdeck.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The demo's users: support tickets sent through the gateway to {@code /agents/AGENT/triage} at
 * a steady rate, each a new conversation with its own {@code X-Flightdeck-Session}, so the
 * gateway's weights decide each one's version. Counts what came back per version (from the
 * answer's {@code X-Flightdeck-Version}). Never more than {@value #MAX_IN_FLIGHT} tickets wait at
 * once: when the agents fall behind, the rate drops rather than the machine.
 */
final class DemoTraffic implements AutoCloseable {

  /** The tickets, sent in turn: what customers write to a SaaS company's support. */
  static final List<String> TICKETS = List.of(
      "I was charged twice for my subscription this month, please refund one payment. ana@northwind.example",
      "I cannot log in, the password reset email never arrives. li@fabrikam.example",
      "Our invoice shows the old company name, can you reissue it? raj@contoso.example",
      "Everything is down for us since 10:00, every page answers 502. eve@adventure.example",
      "How do I export all our projects as CSV? sam@tailspin.example",
      "We get HTTP 429 from the API since this morning, did our limit change? raj@contoso.example",
      "I lost my phone with the two-factor app, how do I get back in? ana@northwind.example",
      "Please refund the seats we added by mistake yesterday. sam@tailspin.example",
      "Can we add 10 seats to our plan mid-cycle, and what does it cost? eve@adventure.example",
      "The dashboard is very slow today, is there an outage? li@fabrikam.example");

  private static final int MAX_IN_FLIGHT = 48;

  /** Answers per version: all, and those that failed (status 5xx or a gateway error) or were halted (429). */
  record Tally(long requests, long ok, long failed, long halted) {}

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final URI endpoint;
  private final ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor();
  private final Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
  private final AtomicLong sent = new AtomicLong();
  private final Map<String, LongAdder[]> byVersion = new ConcurrentHashMap<>();
  private final String sessionPrefix;
  private final Thread ticker;
  private volatile double perSecond;
  private volatile boolean running = true;

  private DemoTraffic(URI endpoint, double perSecond, String sessionPrefix) {
    this.endpoint = endpoint;
    this.perSecond = perSecond;
    this.sessionPrefix = sessionPrefix;
    this.ticker = Thread.ofPlatform().daemon().name("demo-traffic").unstarted(this::tick);
  }

  /** Starts sending tickets to {@code gateway}/agents/{@code agent}/triage at {@code perSecond}. */
  static DemoTraffic start(String gateway, String agent, double perSecond) {
    DemoTraffic t = new DemoTraffic(URI.create(gateway + "/agents/" + agent + "/triage"), perSecond,
        "demo-" + Long.toString(System.currentTimeMillis() % 1_000_000, 36) + "-");
    t.ticker.start();
    return t;
  }

  /** Changes the rate from now on. */
  void rate(double perSecond) {
    this.perSecond = perSecond;
  }

  /** Tickets sent so far. */
  long sent() {
    return sent.get();
  }

  /** What came back so far, per version ("-" for answers no version gave: the gateway's own errors). */
  Map<String, Tally> tallies() {
    Map<String, Tally> out = new TreeMap<>();
    byVersion.forEach((v, a) -> out.put(v, new Tally(a[0].sum(), a[1].sum(), a[2].sum(), a[3].sum())));
    return out;
  }

  private void tick() {
    long next = System.nanoTime();
    while (running) {
      long now = System.nanoTime();
      if (now < next) {
        try {
          Thread.sleep(Duration.ofNanos(next - now));
        } catch (InterruptedException e) {
          return;
        }
        continue;
      }
      next += (long) (1e9 / Math.max(0.1, perSecond));
      if (now - next > 1_000_000_000L) {
        next = now; // behind by more than a second (a pause, a slow machine): do not catch up in a burst
      }
      if (inFlight.tryAcquire()) {
        long n = sent.incrementAndGet();
        senders.submit(() -> {
          try {
            send(n);
          } finally {
            inFlight.release();
          }
        });
      }
    }
  }

  private void send(long n) {
    String ticket = TICKETS.get((int) ((n - 1) % TICKETS.size()));
    HttpRequest req = HttpRequest.newBuilder(endpoint).timeout(Duration.ofSeconds(30))
        .header("Content-Type", "application/json")
        .header("X-Flightdeck-Session", sessionPrefix + n)
        .POST(HttpRequest.BodyPublishers.ofString(Json.write(Json.object().put("ticket", ticket))))
        .build();
    try {
      HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
      String version = r.headers().firstValue("X-Flightdeck-Version").orElse("-");
      LongAdder[] a = byVersion.computeIfAbsent(version, v -> new LongAdder[] {new LongAdder(), new LongAdder(),
          new LongAdder(), new LongAdder()});
      a[0].increment();
      if (r.statusCode() < 400) {
        a[1].increment();
      } else if (r.statusCode() == 429 && halted(r.body())) {
        a[3].increment();
      } else {
        a[2].increment();
      }
    } catch (java.io.IOException e) {
      byVersion.computeIfAbsent("-", v -> new LongAdder[] {new LongAdder(), new LongAdder(), new LongAdder(),
          new LongAdder()})[2].increment();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static boolean halted(String body) {
    try {
      JsonNode e = Json.read(body).path("error");
      return e.path("code").asText("").equals("session_halted") || e.path("message").asText("").contains("halted");
    } catch (RuntimeException ex) {
      return false;
    }
  }

  @Override
  public void close() {
    running = false;
    ticker.interrupt();
    senders.shutdownNow();
    http.shutdownNow();
  }
}

package dev.flightdeck.bench.gateway;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * Server-sent events through the gateway. One JVM runs the SSE upstream and the clients (so
 * the event's send time and its arrival share a clock); the gateway runs in its own process,
 * whose resident memory is read from /proc.
 *
 * <pre>
 * latency UPSTREAM_PORT DIRECT_URL GATEWAY_URL STREAMS SECONDS   per-chunk latency, direct vs gateway
 * memory  UPSTREAM_PORT GATEWAY_URL GATEWAY_PID STREAMS           RSS of the gateway with STREAMS open
 * </pre>
 */
public final class SseBench {

  private final List<Stream> streams = new CopyOnWriteArrayList<>();

  private record Stream(Response response, Callback callback) {}

  private SseBench() {}

  /** Runs one mode; prints a Markdown table row. */
  public static void main(String[] args) throws Exception {
    SseBench b = new SseBench();
    int upstreamPort = Integer.parseInt(args[1]);
    Server upstream = b.upstream(upstreamPort);
    HttpClient client = new HttpClient();
    QueuedThreadPool pool = new QueuedThreadPool(16);
    pool.setName("sse-client");
    client.setExecutor(pool);
    client.setMaxConnectionsPerDestination(30_000);
    client.setMaxRequestsQueuedPerDestination(30_000);
    client.setIdleTimeout(600_000);
    client.start();
    try {
      if (args[0].equals("latency")) {
        int n = Integer.parseInt(args[4]);
        int seconds = Integer.parseInt(args[5]);
        long[] direct = b.latency(client, args[2], n, seconds);
        long[] gateway = b.latency(client, args[3], n, seconds);
        System.out.printf("| per-chunk latency, %d streams, 10 events/s each, spread evenly | direct p50 %.3f ms, p99 %.3f ms | gateway p50 %.3f ms, p99 %.3f ms | added p50 %+.3f ms, p99 %+.3f ms |%n",
            n, ms(direct, 0.5), ms(direct, 0.99), ms(gateway, 0.5), ms(gateway, 0.99),
            ms(gateway, 0.5) - ms(direct, 0.5), ms(gateway, 0.99) - ms(direct, 0.99));
      } else {
        String url = args[2];
        long pid = Long.parseLong(args[3]);
        int n = Integer.parseInt(args[4]);
        long before = rssKb(pid);
        AtomicInteger failed = new AtomicInteger();
        AtomicLong events = new AtomicLong();
        for (int i = 0; i < n; i++) {
          b.open(client, url, chunk -> {
            if (StandardCharsets.US_ASCII.decode(chunk).toString().contains("data: ")) {
              events.incrementAndGet();
            }
          }, failed);
          if (i % 500 == 499) {
            Thread.sleep(100); // do not overrun the accept queues
          }
        }
        // Wait until every stream is open, or the count has stopped growing for 10 s (a
        // file-descriptor limit, say: the report shows how many were open).
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        long grew = System.nanoTime();
        int seen = 0;
        while (b.streams.size() < n && System.nanoTime() < deadline
            && System.nanoTime() - grew < TimeUnit.SECONDS.toNanos(10)) {
          Thread.sleep(200);
          if (b.streams.size() > seen) {
            seen = b.streams.size();
            grew = System.nanoTime();
          }
        }
        int open = b.streams.size();
        // Every stream gets an event, and must deliver it.
        b.broadcast();
        while (events.get() < open && System.nanoTime() < deadline) {
          Thread.sleep(200);
        }
        Thread.sleep(3000);
        b.broadcast();
        Thread.sleep(3000);
        long after = rssKb(pid);
        System.out.printf("| %d concurrent SSE streams | open at upstream: %d, events delivered: %d, failed: %d | gateway RSS before: %d MB | with streams open: %d MB |%n",
            n, open, events.get(), failed.get(), before / 1024, after / 1024);
      }
    } finally {
      System.out.flush();
      // Closing thousands of streams one by one takes long and measures nothing.
      Runtime.getRuntime().halt(0);
    }
  }

  private static double ms(long[] nanos, double q) {
    return nanos.length == 0 ? Double.NaN : nanos[(int) Math.min(nanos.length - 1, Math.ceil(q * nanos.length) - 1)] / 1e6;
  }

  private static long rssKb(long pid) throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IllegalStateException("no VmRSS for " + pid);
  }

  private long[] latency(HttpClient client, String url, int n, int seconds) throws Exception {
    ConcurrentLinkedQueue<Long> samples = new ConcurrentLinkedQueue<>();
    AtomicInteger failed = new AtomicInteger();
    streams.clear();
    for (int i = 0; i < n; i++) {
      open(client, url, chunk -> {
        String s = StandardCharsets.US_ASCII.decode(chunk).toString();
        long now = System.nanoTime();
        for (String line : s.split("\n")) {
          if (line.startsWith("data: ")) {
            samples.add(now - Long.parseLong(line.substring(6).trim()));
          }
        }
      }, failed);
    }
    while (streams.size() < n) {
      Thread.sleep(50);
    }
    // Events are spread evenly (not written to all streams at once), so a sample measures the
    // path of one chunk, not the queue behind a burst of n.
    ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor();
    AtomicInteger next = new AtomicInteger();
    ticker.scheduleAtFixedRate(() -> send(streams.get(Math.floorMod(next.getAndIncrement(), streams.size()))),
        100_000, 100_000 / n, TimeUnit.MICROSECONDS);
    Thread.sleep(2000);
    samples.clear(); // warm-up
    Thread.sleep(seconds * 1000L);
    ticker.shutdownNow();
    for (Stream s : streams) {
      s.callback().succeeded();
    }
    long[] out = samples.stream().mapToLong(Long::longValue).toArray();
    Arrays.sort(out);
    return out;
  }

  private void open(HttpClient client, String url, java.util.function.Consumer<ByteBuffer> onChunk, AtomicInteger failed) {
    client.newRequest(url).idleTimeout(10, TimeUnit.MINUTES).timeout(1, TimeUnit.HOURS)
        .onResponseContent((r, chunk) -> onChunk.accept(chunk))
        .send((Result result) -> {
          if (result.isFailed()) {
            failed.incrementAndGet();
          }
        });
  }

  /** Writes one event, carrying the time it was written, to every open stream. */
  private void broadcast() {
    for (Stream s : streams) {
      send(s);
    }
  }

  private static void send(Stream s) {
    byte[] event = ("data: " + System.nanoTime() + "\n\n").getBytes(StandardCharsets.US_ASCII);
    s.response().write(false, ByteBuffer.wrap(event), Callback.NOOP);
  }

  private Server upstream(int port) throws Exception {
    QueuedThreadPool pool = new QueuedThreadPool(16);
    pool.setName("sse-upstream");
    Server server = new Server(pool);
    ServerConnector c = new ServerConnector(server, 1, 1);
    c.setHost("127.0.0.1");
    c.setPort(port);
    c.setIdleTimeout(600_000);
    c.setAcceptQueueSize(8192);
    server.addConnector(c);
    server.setHandler(new Handler.Abstract.NonBlocking() {
      @Override
      public boolean handle(Request req, Response resp, Callback cb) {
        resp.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream");
        resp.write(false, ByteBuffer.wrap(": open\n\n".getBytes(StandardCharsets.US_ASCII)), Callback.from(
            () -> streams.add(new Stream(resp, cb)), cb::failed));
        return true;
      }
    });
    server.start();
    return server;
  }
}

package dev.flightdeck.server.http;

import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.store.resource.ResourceEvent;
import dev.flightdeck.store.resource.ResourceStore;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * Server-sent events of resource changes, read from the stored history so that a client that
 * reconnects with {@code Last-Event-ID} (or {@code since}) misses nothing. Wakes at once on local
 * commits and polls every second for commits made by other replicas sharing the database.
 * Runs on a virtual thread per watcher; never holds a database connection while waiting.
 */
final class WatchApi {

  private static final long POLL_MILLIS = 1000;
  private static final long HEARTBEAT_MILLIS = 15_000;
  private static final int BATCH = 500;

  private final ResourceStore store;
  private final Object signal = new Object();
  private volatile boolean closed;
  private long commits;

  WatchApi(ResourceStore store) {
    this.store = store;
    store.onCommit(() -> {
      synchronized (signal) {
        commits++;
        signal.notifyAll();
      }
    });
  }

  void register(RoutesConfig r) {
    r.get("/api/v1/watch", this::watch, Access.VIEWER);
  }

  void close() {
    closed = true;
    synchronized (signal) {
      signal.notifyAll();
    }
  }

  private void watch(Context ctx) throws IOException {
    Optional<Kind> kind = Requests.kindParam(ctx, "kind");
    String lastEventId = ctx.header("Last-Event-ID");
    long since = lastEventId != null && lastEventId.strip().matches("[0-9]{1,18}")
        ? Long.parseLong(lastEventId.strip())
        : Requests.longParam(ctx, "since", -1);
    if (since < 0) {
      since = store.revision();
    }
    ctx.status(200);
    ctx.res().setContentType("text/event-stream");
    ctx.res().setCharacterEncoding("UTF-8");
    ctx.res().setHeader("Cache-Control", "no-cache");
    ctx.res().setHeader("X-Accel-Buffering", "no");
    OutputStream out = ctx.res().getOutputStream();
    write(out, ": watching from revision " + since + "\n\n");
    long lastBeat = System.currentTimeMillis();
    while (!closed) {
      long seen;
      synchronized (signal) {
        seen = commits;
      }
      List<ResourceEvent> events = store.changesSince(since, kind, BATCH);
      for (ResourceEvent e : events) {
        write(out, "id: " + e.revision() + "\nevent: " + e.operation().name() + "\ndata: "
            + Json.write(ResourceApi.event(e)) + "\n\n");
        since = e.revision();
      }
      if (events.size() == BATCH) {
        continue;
      }
      if (System.currentTimeMillis() - lastBeat >= HEARTBEAT_MILLIS) {
        write(out, ": keepalive\n\n");
        lastBeat = System.currentTimeMillis();
      }
      synchronized (signal) {
        if (commits == seen && !closed) {
          try {
            signal.wait(POLL_MILLIS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
        }
      }
    }
  }

  /** Writes and flushes; an IOException means the client went away, which ends the watch. */
  private static void write(OutputStream out, String text) throws IOException {
    out.write(text.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }
}

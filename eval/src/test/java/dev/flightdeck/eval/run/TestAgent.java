package dev.flightdeck.eval.run;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.flightdeck.api.resource.Json;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A real HTTP agent on loopback for the runner's tests: answers each request with what a function
 * of (ticket, run index) returns, and counts the requests it got.
 */
final class TestAgent implements AutoCloseable {

  /** What the agent answers: a JSON body, or a status and delay. */
  record Reply(int status, String body, long delayMs) {
    static Reply json(String body) {
      return new Reply(200, body, 0);
    }
  }

  private final HttpServer server;
  final AtomicInteger requests = new AtomicInteger();

  TestAgent(Function<Request, Reply> behaviour) throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 512);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext("/", ex -> handle(ex, behaviour));
    server.start();
  }

  /** One request as the agent saw it. */
  record Request(String path, String ticket, int run, String session) {}

  private void handle(HttpExchange ex, Function<Request, Reply> behaviour) throws IOException {
    requests.incrementAndGet();
    String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    String eval = ex.getRequestHeaders().getFirst("X-Flightdeck-Eval");
    int run = eval == null ? -1 : Integer.parseInt(eval.substring(eval.lastIndexOf('/') + 1));
    String ticket = body.isEmpty() ? "" : Json.read(body).path("ticket").asText("");
    Reply r = behaviour.apply(new Request(ex.getRequestURI().getPath(), ticket, run,
        ex.getRequestHeaders().getFirst("X-Flightdeck-Session")));
    if (r.delayMs() > 0) {
      try {
        Thread.sleep(r.delayMs());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    byte[] out = r.body().getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(r.status(), out.length == 0 ? -1 : out.length);
    if (out.length > 0) {
      ex.getResponseBody().write(out);
    }
    ex.close();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
  }
}

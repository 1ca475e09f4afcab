package dev.flightdeck.bench.eval;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.MimeTypes;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.thread.Invocable;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * A local agent that answers at once, for {@code bench/eval/run.sh}: the eval runner's own cost is
 * what gets measured, not the agent's.
 *
 * <p>{@code POST /triage} with {@code {"ticket": "..."}} answers immediately with
 *
 * <pre>{"answer":"Routed to billing: ...",
 *  "trajectory":[{"name":"lookup_customer","arguments":{"email":"x@example.com"}},
 *                {"name":"route","arguments":{"queue":"billing"}}],
 *  "usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150}}</pre>
 *
 * The queue comes from keywords in the ticket: billing, refund, charge → {@code billing}; login,
 * password, reset → {@code account}; anything else → {@code general}. The email is the first
 * address in the ticket, else {@code customer@example.com}. A ticket holding {@code [p=0.7]} is
 * routed right with that probability only, else to {@code general} (for {@code bench/eval/adaptive.sh}). {@code GET /healthz} answers
 * {@code {"status":"ok","requests":N}}.
 *
 * <p>A Jetty core non-blocking handler: the body is read asynchronously and the answer written
 * from the thread that received it, with no blocking anywhere, so the agent does well over 10k
 * requests/s on loopback and is not the bottleneck of the benchmark.
 *
 * <pre>java -cp bench/target/benchmarks.jar dev.flightdeck.bench.eval.InstantAgent 9190</pre>
 *
 * Prints {@code ready http://127.0.0.1:PORT pid PID} once listening (port 0 picks a free one).
 */
public final class InstantAgent {

  private static final int MAX_BODY = 1024 * 1024;
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonFactory FACTORY = MAPPER.getFactory();
  private static final Pattern EMAIL = Pattern.compile("[\\w.+-]+@[\\w-]+(?:\\.[\\w-]+)+");

  private final Server server;
  private final ServerConnector connector;
  private final AtomicLong requests = new AtomicLong();
  /** Share of /triage requests answered with HTTP 500 (a broken version, for rollout examples). */
  private volatile double errorRate;

  private InstantAgent(String host, int port) {
    QueuedThreadPool pool = new QueuedThreadPool(32, 4);
    pool.setName("instant-agent");
    server = new Server(pool);
    connector = new ServerConnector(server, 1, 1);
    connector.setHost(host);
    connector.setPort(port);
    connector.setAcceptQueueSize(1024);
    connector.setIdleTimeout(300_000);
    server.addConnector(connector);
    server.setHandler(new Handler.Abstract.NonBlocking() {
      @Override
      public boolean handle(Request req, Response resp, Callback cb) {
        requests.incrementAndGet();
        String path = Request.getPathInContext(req);
        if (path.equals("/triage") && HttpMethod.POST.is(req.getMethod())
            && errorRate > 0 && java.util.concurrent.ThreadLocalRandom.current().nextDouble() < errorRate) {
          send(resp, cb, 500, error("simulated failure (--error-rate " + errorRate + ")"));
        } else if (path.equals("/triage") && HttpMethod.POST.is(req.getMethod())) {
          Content.Source.asByteArrayAsync(req, MAX_BODY, Promise.Invocable.from(
              Invocable.InvocationType.NON_BLOCKING,
              body -> answer(body, resp, cb),
              failure -> send(resp, cb, 400, error("could not read the body: " + failure.getMessage()))));
        } else if (path.equals("/healthz")) {
          send(resp, cb, 200, ("{\"status\":\"ok\",\"requests\":" + requests.get() + "}")
              .getBytes(StandardCharsets.UTF_8));
        } else {
          send(resp, cb, 404, error("use POST /triage with {\"ticket\": \"...\"}"));
        }
        return true;
      }
    });
  }

  /** Starts an agent on {@code host:port} (port 0 picks a free one). */
  public static InstantAgent start(String host, int port) throws Exception {
    InstantAgent a = new InstantAgent(host, port);
    a.server.start();
    return a;
  }

  /** The port it listens on. */
  public int port() {
    return connector.getLocalPort();
  }

  /** Requests received so far. */
  public long requests() {
    return requests.get();
  }

  /** Stops the server. */
  public void stop() throws Exception {
    server.stop();
  }

  /**
   * Runs until killed. Arguments: the port (default 9190; 0 picks a free one), then optionally
   * {@code --error-rate P}: answer that share of /triage requests with HTTP 500.
   */
  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 9190;
    InstantAgent agent = start("127.0.0.1", port);
    for (int i = 1; i + 1 < args.length; i += 2) {
      if (args[i].equals("--error-rate")) {
        agent.errorRate = Double.parseDouble(args[i + 1]);
      } else {
        throw new IllegalArgumentException("unknown option " + args[i] + "; expected --error-rate P");
      }
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        agent.stop();
      } catch (Exception e) {
        // exiting anyway
      }
    }));
    System.out.println("ready http://127.0.0.1:" + agent.port() + " pid " + ProcessHandle.current().pid());
    System.out.flush();
    new CountDownLatch(1).await();
  }

  /** "[p=0.7]" in a ticket: route it right with that probability only (the adaptive benchmark's flaky cases). */
  private static final Pattern FLAKY = Pattern.compile("\\[p=(0?\\.[0-9]+|1(\\.0*)?)]");

  /** The queue for a ticket, by keyword. */
  static String queue(String ticket) {
    String t = ticket.toLowerCase(Locale.ROOT);
    Matcher flaky = FLAKY.matcher(t);
    if (flaky.find() && java.util.concurrent.ThreadLocalRandom.current().nextDouble() >= Double.parseDouble(flaky.group(1))) {
      return "general";
    }
    if (t.contains("billing") || t.contains("refund") || t.contains("charge")) {
      return "billing";
    }
    if (t.contains("login") || t.contains("password") || t.contains("reset")) {
      return "account";
    }
    return "general";
  }

  /** The JSON answer for a ticket. */
  static byte[] answer(String ticket) throws IOException {
    String queue = queue(ticket);
    Matcher m = EMAIL.matcher(ticket);
    String email = m.find() ? m.group() : "customer@example.com";
    ByteArrayOutputStream out = new ByteArrayOutputStream(512);
    try (JsonGenerator g = FACTORY.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("answer", "Routed to " + queue + ": " + ticket);
      g.writeArrayFieldStart("trajectory");
      g.writeStartObject();
      g.writeStringField("name", "lookup_customer");
      g.writeObjectFieldStart("arguments");
      g.writeStringField("email", email);
      g.writeEndObject();
      g.writeEndObject();
      g.writeStartObject();
      g.writeStringField("name", "route");
      g.writeObjectFieldStart("arguments");
      g.writeStringField("queue", queue);
      g.writeEndObject();
      g.writeEndObject();
      g.writeEndArray();
      g.writeObjectFieldStart("usage");
      g.writeNumberField("prompt_tokens", 120);
      g.writeNumberField("completion_tokens", 30);
      g.writeNumberField("total_tokens", 150);
      g.writeEndObject();
      g.writeEndObject();
    }
    return out.toByteArray();
  }

  private static void answer(byte[] body, Response resp, Callback cb) {
    JsonNode ticket;
    try {
      JsonNode json = MAPPER.readTree(body);
      ticket = json == null ? null : json.get("ticket");
    } catch (IOException e) {
      send(resp, cb, 400, error("the body is not JSON: " + e.getMessage()));
      return;
    }
    if (ticket == null || !ticket.isTextual()) {
      send(resp, cb, 400, error("the body must be {\"ticket\": \"...\"}"));
      return;
    }
    try {
      send(resp, cb, 200, answer(ticket.asText()));
    } catch (IOException e) {
      send(resp, cb, 500, error(e.getMessage()));
    }
  }

  private static byte[] error(String message) {
    try {
      return MAPPER.writeValueAsBytes(java.util.Map.of("error", String.valueOf(message)));
    } catch (IOException e) {
      return "{\"error\":\"agent error\"}".getBytes(StandardCharsets.UTF_8);
    }
  }

  private static void send(Response resp, Callback cb, int status, byte[] json) {
    resp.setStatus(status);
    resp.getHeaders().put(HttpHeader.CONTENT_TYPE, MimeTypes.Type.APPLICATION_JSON_UTF_8.asString());
    resp.getHeaders().put(HttpHeader.CONTENT_LENGTH, json.length);
    resp.write(true, ByteBuffer.wrap(json), cb);
  }
}

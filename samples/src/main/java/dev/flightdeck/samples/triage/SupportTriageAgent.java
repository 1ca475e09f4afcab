package dev.flightdeck.samples.triage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import java.time.Duration;
import java.util.concurrent.Executors;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The support-triage sample agent: {@code POST /triage} with {@code {"ticket": "..."}} answers the
 * queue, a one-line answer, the tool calls it made (its trajectory) and the tokens it used;
 * {@code GET /healthz} answers 200. Each request runs on its own virtual thread and may wait on
 * several model calls. See docs/sample-agent.md.
 */
public final class SupportTriageAgent implements AutoCloseable {

  /** Tickets are short; anything larger is a mistake or an attack. */
  static final int MAX_BODY = 64 * 1024;

  private final Server server;
  private final ServerConnector connector;
  private final TriageLoop loop;

  private SupportTriageAgent(TriageConfig config, int port) {
    this.loop = new TriageLoop(config);
    QueuedThreadPool pool = new QueuedThreadPool(64, 4);
    pool.setName("support-triage");
    pool.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server = new Server(pool);
    connector = new ServerConnector(server, 1, 1);
    connector.setHost("127.0.0.1");
    connector.setPort(port);
    connector.setIdleTimeout(Duration.ofMinutes(5).toMillis());
    server.addConnector(connector);
    server.setHandler(new Handler.Abstract() {
      @Override
      public boolean handle(Request req, Response resp, Callback cb) {
        try {
          route(req, resp, cb);
        } catch (RuntimeException e) {
          if (resp.isCommitted()) {
            cb.failed(e);
          } else {
            error(resp, cb, 500, "agent_error", "the agent failed: " + e.getMessage());
          }
        }
        return true;
      }
    });
  }

  /** Starts the agent on 127.0.0.1:{@code port} (0 picks a free port). */
  public static SupportTriageAgent start(TriageConfig config, int port) {
    SupportTriageAgent a = new SupportTriageAgent(config, port);
    try {
      a.server.start();
    } catch (Exception e) {
      a.close();
      throw new IllegalStateException("cannot start support-triage " + config.version() + " on 127.0.0.1:" + port
          + ": " + e.getMessage(), e);
    }
    return a;
  }

  /** The port it listens on. */
  public int port() {
    return connector.getLocalPort();
  }

  /** Stops listening and closes the model client. */
  @Override
  public void close() {
    try {
      server.stop();
    } catch (Exception e) {
      // stopping: nothing left to do
    }
    loop.close();
  }

  private void route(Request req, Response resp, Callback cb) {
    String path = Request.getPathInContext(req);
    switch (path) {
      case "/healthz" -> json(resp, cb, 200, Json.object().put("status", "ok").put("version", loop.version()));
      case "/triage" -> {
        if (!req.getMethod().equals("POST")) {
          error(resp, cb, 405, "method_not_allowed", "use POST /triage with {\"ticket\": \"...\"}");
          return;
        }
        triage(req, resp, cb);
      }
      default -> error(resp, cb, 404, "not_found", "no such endpoint: " + req.getMethod() + " " + path
          + "; the agent serves POST /triage and GET /healthz");
    }
  }

  private void triage(Request req, Response resp, Callback cb) {
    if (req.getLength() > MAX_BODY) {
      error(resp, cb, 413, "request_too_large", "the body is " + req.getLength() + " bytes; at most " + MAX_BODY
          + " are accepted");
      return;
    }
    byte[] bytes;
    try {
      bytes = Content.Source.asByteArrayAsync(req, MAX_BODY).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      error(resp, cb, 503, "interrupted", "the agent is stopping");
      return;
    } catch (Exception e) {
      error(resp, cb, 413, "request_too_large", "could not read the body (at most " + MAX_BODY + " bytes)");
      return;
    }
    JsonNode body;
    try {
      body = Json.mapper().readTree(bytes);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      error(resp, cb, 400, "invalid_json", "the body is not valid JSON: " + e.getOriginalMessage());
      return;
    } catch (java.io.IOException e) {
      error(resp, cb, 400, "invalid_json", "the body could not be read: " + e.getMessage());
      return;
    }
    if (body == null || !body.isObject() || !body.path("ticket").isTextual() || body.path("ticket").asText().isBlank()) {
      error(resp, cb, 400, "invalid_request", "expected a JSON object {\"ticket\": \"...\"} with a non-empty ticket");
      return;
    }
    String session = req.getHeaders().get(TriageLoop.SESSION_HEADER);
    TriageLoop.Outcome outcome = loop.triage(body.path("ticket").asText(), java.util.Optional.ofNullable(session));
    switch (outcome) {
      case TriageLoop.Outcome.Answered a -> json(resp, cb, 200, a.body());
      case TriageLoop.Outcome.Failed f -> json(resp, cb, f.status(), f.body());
    }
  }

  private static void json(Response resp, Callback cb, int status, JsonNode body) {
    resp.setStatus(status);
    resp.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    Content.Sink.write(resp, true, Json.write(body), cb);
  }

  private static void error(Response resp, Callback cb, int status, String code, String message) {
    ObjectNode e = Json.object();
    e.putObject("error").put("code", code).put("message", message);
    json(resp, cb, status, e);
  }
}

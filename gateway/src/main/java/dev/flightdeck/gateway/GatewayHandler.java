package dev.flightdeck.gateway;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import dev.flightdeck.gateway.routing.AgentRoute;
import dev.flightdeck.gateway.routing.RoutingTable;
import dev.flightdeck.gateway.routing.Rule;
import dev.flightdeck.gateway.model.ModelGateway;
import dev.flightdeck.gateway.routing.SessionPins;
import dev.flightdeck.gateway.routing.VersionTarget;
import dev.flightdeck.gateway.telemetry.CallLedger;
import dev.flightdeck.gateway.telemetry.GatewayMetrics;
import dev.flightdeck.gateway.telemetry.MetricHeaders;
import dev.flightdeck.gateway.telemetry.RequestRecord;
import dev.flightdeck.gateway.telemetry.Usage;
import dev.flightdeck.gateway.telemetry.UsageScanner;
import dev.flightdeck.gateway.upstream.Endpoint;
import dev.flightdeck.store.gateway.SessionPin;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.ContentSourceRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.http.HttpCookie;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.api.exceptions.UpgradeException;

/**
 * The gateway's request path: find the agent, choose a version (rules, then the session's pin,
 * then the weighted split), pass admission control and the circuit breaker, pick a replica,
 * and stream the request and the response through without buffering. Nothing here blocks a
 * thread on the network; only a session pin missing from the cache is read from the store.
 */
final class GatewayHandler extends Handler.Abstract.NonBlocking {

  /** Bodies of requests that are mirrored or carry the session id are read first, up to this. */
  static final int MAX_INSPECTED_BODY = 1024 * 1024;
  private static final JsonFactory JSON = new JsonFactory();
  private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection",
      "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "host");

  private final Supplier<RoutingTable> table;
  private final SessionPins pins;
  private final Function<VersionTarget, HttpClient> clients;
  private final GatewayMetrics metrics;
  private final Consumer<RequestRecord> sink;
  private final WebSocketBridge webSockets;
  private final ShadowMirror shadows;
  private final FirstByteWatchdog watchdog = new FirstByteWatchdog();
  private final ModelGateway models;
  private final CallLedger ledger;

  GatewayHandler(Supplier<RoutingTable> table, SessionPins pins, Function<VersionTarget, HttpClient> clients,
      GatewayMetrics metrics, Consumer<RequestRecord> sink, ShadowMirror shadows, WebSocketBridge webSockets,
      ModelGateway models, CallLedger ledger) {
    this.webSockets = webSockets;
    this.models = models;
    this.ledger = ledger;
    this.table = table;
    this.pins = pins;
    this.clients = clients;
    this.metrics = metrics;
    this.sink = sink;
    this.shadows = shadows;
  }

  @Override
  protected void doStop() throws Exception {
    watchdog.stop();
    super.doStop();
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    Exchange ex = new Exchange(request, response, callback);
    try {
      ex.start();
    } catch (RuntimeException e) {
      ex.fail(GatewayError.NO_ROUTE, "the gateway could not route this request: " + e.getMessage(), 0);
    }
    return true;
  }

  /** The state of one request from arrival to its last byte. */
  private final class Exchange {
    final Request req;
    final Response resp;
    final Callback callback;
    final long startNanos = System.nanoTime();
    final AtomicBoolean finished = new AtomicBoolean();
    AgentRoute agent;
    String agentName;
    String path;
    VersionTarget version;
    String rule;
    String session;
    String traceparent;
    String requestId;
    byte[] body;
    VersionTarget shadowTarget;
    boolean agentGateHeld;
    boolean versionGateHeld;
    boolean breakerPassed;
    // per attempt
    Endpoint endpoint;
    Endpoint failedEndpoint;
    int attempt;
    org.eclipse.jetty.client.Request upstream;
    /** When the upstream's response headers are due (System.nanoTime), or 0 once they came. */
    volatile long firstByteDeadline;
    CountingSource requestBody;
    long sendNanos;
    long ttfbNanos = -1;
    int status;
    boolean sse;
    boolean clientFailed;
    long bytesOut;
    long webSocketBytesIn;
    UsageScanner scanner;
    Usage headerUsage = Usage.NONE;
    /** Custom metrics from the response's headers; {@code Map.of()} (no allocation) when none. */
    Map<String, Double> customMetrics = Map.of();
    ByteArrayOutputStream primaryCopy;
    /** What this request's model calls cost (through the model gateway), or null without a session. */
    CallLedger.Tally tally;

    Exchange(Request req, Response resp, Callback callback) {
      this.req = req;
      this.resp = resp;
      this.callback = callback;
    }

    void start() {
      String raw = req.getHttpURI().getPath();
      RoutingTable t = table.get();
      if (raw.startsWith("/agents/")) {
        int slash = raw.indexOf('/', 8);
        agentName = slash < 0 ? raw.substring(8) : raw.substring(8, slash);
        path = slash < 0 ? "/" : raw.substring(slash);
        agent = t.agent(agentName);
      } else {
        String host = req.getHeaders().get(HttpHeader.HOST);
        agent = t.byHost(host);
        if (agent == null && host != null && host.indexOf(':') > 0) {
          agent = t.byHost(host.substring(0, host.lastIndexOf(':')));
        }
        agentName = agent == null ? (host == null ? "" : host) : agent.name();
        path = raw;
      }
      if (agent == null && !raw.startsWith("/agents/") && models != null && ModelGateway.serves(raw)) {
        finished.set(true);
        models.handle(req, resp, callback);
        return;
      }
      if (agent == null) {
        fail(GatewayError.UNKNOWN_AGENT, "no agent is served at " + (raw.startsWith("/agents/")
            ? "/agents/" + agentName + "/" : "host " + agentName + " path " + raw)
            + "; agents are served at /agents/{name}/ or by the Host names in their spec.hosts", 0);
        return;
      }
      AgentRoute.SessionSpec s = agent.session();
      session = req.getHeaders().get(s.header());
      if (session == null && s.cookie() != null) {
        session = cookie(s.cookie());
      }
      AgentRoute.Shadow sh = agent.shadow();
      if (sh != null && ThreadLocalRandom.current().nextInt(100) < sh.percent()) {
        shadowTarget = agent.versions().get(sh.version());
      }
      boolean needBody = hasBody() && ((session == null && s.bodyField() != null) || shadowTarget != null);
      if (needBody) {
        long declared = req.getLength();
        if (declared > MAX_INSPECTED_BODY) {
          shadowTarget = null; // too large to mirror; the session id, if any, must come from a header
          if (session == null && s.bodyField() != null) {
            fail(GatewayError.INVALID_REQUEST, "the session id is read from the body field '" + s.bodyField()
                + "', but the body is " + declared + " bytes; at most " + MAX_INSPECTED_BODY
                + " bytes are inspected. Send the session id in the " + s.header() + " header", 0);
            return;
          }
          route();
          return;
        }
        Content.Source.asByteArrayAsync(req, MAX_INSPECTED_BODY).whenComplete((bytes, x) -> {
          if (x != null) {
            fail(GatewayError.INVALID_REQUEST, "could not read the request body to find the session id or mirror it"
                + " (at most " + MAX_INSPECTED_BODY + " bytes): " + x.getMessage(), 0);
            return;
          }
          body = bytes;
          if (session == null && s.bodyField() != null) {
            session = bodyField(bytes, s.bodyField());
          }
          route();
        });
        return;
      }
      route();
    }

    void route() {
      if (session != null && !pins.cached(agent.name(), session)) {
        // A pin not in the cache is read from the store: not on a selector thread.
        Thread.startVirtualThread(() -> {
          try {
            pins.find(agent.name(), session);
            routeWithPins();
          } catch (RuntimeException e) {
            fail(GatewayError.NO_ROUTE, "could not read the session's pin from the store: " + e.getMessage(), 1);
          }
        });
        return;
      }
      routeWithPins();
    }

    void routeWithPins() {
      if (session != null && !SessionIds.valid(session)) {
        fail(GatewayError.INVALID_SESSION, "the session id must be 1 to " + SessionIds.MAX_LENGTH
            + " printable ASCII characters", 0);
        return;
      }
      String chosen = null;
      for (Rule r : agent.rules()) {
        if (r.matches(h -> req.getHeaders().get(h), this::cookie)) {
          chosen = r.version();
          rule = r.name();
          break;
        }
      }
      if (chosen == null && session != null) {
        Optional<SessionPin> pin = pins.find(agent.name(), session);
        if (pin.isPresent()) {
          VersionTarget pinned = agent.versions().get(pin.get().version());
          if (pinned != null && pinned.routable()) {
            chosen = pinned.name();
            rule = "session";
            pins.touch(pin.get(), agent.session().ttlMillis());
          } else if (!agent.session().migrate()) {
            fail(GatewayError.SESSION_VERSION_REMOVED, "session " + session + " started on version "
                + pin.get().version() + ", which no longer exists or has no endpoints; start a new session"
                + " (or set spec.session.onVersionRemoved: migrate on agent " + agent.name() + ")", 0);
            return;
          } else {
            String v = agent.chooseFor(session);
            if (v != null) {
              chosen = pins.migrate(pin.get(), v, agent.session().ttlMillis()).version();
              rule = "session-migrated";
            }
          }
        }
        if (chosen == null && pin.isEmpty()) {
          String v = agent.chooseFor(session);
          if (v != null) {
            chosen = pins.pin(agent.name(), session, v, agent.session().ttlMillis()).version();
            rule = "weight";
          }
        }
      } else if (chosen == null) {
        chosen = agent.chooseRandom();
        rule = "weight";
      }
      version = chosen == null ? null : agent.versions().get(chosen);
      if (version == null || !version.routable()) {
        fail(GatewayError.NO_ROUTE, chosen == null
            ? "agent " + agent.name() + " has no version with a weight above 0 and no rule matched"
            : "version " + chosen + " of agent " + agent.name() + (version == null ? " does not exist" : " has no endpoints"), 0);
        return;
      }
      admitAgent();
    }

    void admitAgent() {
      if (agent.gate() == null) {
        admitVersion();
        return;
      }
      agent.gate().acquire(waited -> {
        agentGateHeld = true;
        if (waited > 0) {
          metrics.waited(agent.name(), "agent", waited);
        }
        admitVersion();
      }, () -> fail(GatewayError.OVERLOADED, "agent " + agent.name() + " is at its concurrency limit and its queue is full",
          agent.gate().retryAfterSeconds()));
    }

    void admitVersion() {
      if (version.gate() == null) {
        breaker();
        return;
      }
      version.gate().acquire(waited -> {
        versionGateHeld = true;
        if (waited > 0) {
          metrics.waited(agent.name(), version.name(), waited);
        }
        breaker();
      }, () -> fail(GatewayError.OVERLOADED, "version " + version.name() + " is at its concurrency limit and its queue is full",
          version.gate().retryAfterSeconds()));
    }

    void breaker() {
      if (!version.breaker().tryAcquire()) {
        fail(GatewayError.CIRCUIT_OPEN, "version " + version.name() + " failed repeatedly; its circuit is open",
            version.breaker().retryAfterSeconds());
        return;
      }
      breakerPassed = true;
      if (requestId == null) {
        String incoming = req.getHeaders().get("X-Request-Id");
        traceparent = Traceparent.next(req.getHeaders().get("traceparent"));
        // The span id of the hop to the agent names this request, unless the client named it.
        requestId = incoming != null && incoming.length() <= 128 && SessionIds.printable(incoming) ? incoming : traceparent.substring(36, 52);
        if (session != null && ledger != null) {
          tally = ledger.open(version.name(), session);
        }
      }
      send();
    }

    void send() {
      if (webSockets != null && WebSocketBridge.isUpgrade(req)) {
        sendWebSocket();
        return;
      }
      attempt++;
      endpoint = version.balancer().acquire(failedEndpoint);
      VersionTarget.Timeouts to = version.timeouts();
      long elapsedMs = (System.nanoTime() - startNanos) / 1_000_000;
      HttpClient client = clients.apply(version);
      org.eclipse.jetty.client.Request up = client.newRequest(endpoint.target(path, req.getHttpURI().getQuery()))
          .method(req.getMethod())
          .timeout(Math.max(1, to.total().toMillis() - elapsedMs), TimeUnit.MILLISECONDS)
          .idleTimeout(to.idle().toMillis(), TimeUnit.MILLISECONDS);
      up.headers(this::copyHeaders);
      if (body != null) {
        up.body(new BytesRequestContent(contentType(), body));
      } else if (hasBody()) {
        requestBody = new CountingSource(req);
        up.body(new ContentSourceRequestContent(requestBody, contentType()));
      }
      upstream = up;
      sendNanos = System.nanoTime();
      firstByteDeadline = sendNanos + to.firstByte().toNanos();
      watchdog.watch(this);
      up.send(new Listener(up));
    }

    /** Bridges a WebSocket upgrade: the agent's handshake first, then the client's, then frames. */
    void sendWebSocket() {
      attempt++;
      endpoint = version.balancer().acquire(failedEndpoint);
      HttpFields.Mutable h = HttpFields.build();
      copyHeaders(h);
      Map<String, List<String>> headers = new LinkedHashMap<>();
      for (HttpField f : h) {
        String name = f.getLowerCaseName();
        if (!name.startsWith("sec-websocket-") && !name.equals("content-length")) {
          headers.computeIfAbsent(f.getName(), k -> new ArrayList<>()).add(f.getValue());
        }
      }
      VersionTarget.Timeouts to = version.timeouts();
      sendNanos = System.nanoTime();
      webSockets.open(URI.create(endpoint.target(path, req.getHttpURI().getQuery())), headers,
          to.connect().plus(to.firstByte()), to.idle(), req, resp, callback, new WebSocketBridge.Outcome() {
            @Override
            public void refused(Throwable x) {
              if (isConnectFailure(x) && attempt <= version.retryAttempts()) {
                version.balancer().release(endpoint, true);
                failedEndpoint = endpoint;
                endpoint = null;
                sendWebSocket();
                return;
              }
              int upstreamStatus = upgradeStatus(x);
              if (upstreamStatus > 0) {
                fail(GatewayError.UPGRADE_REFUSED, "the agent answered the WebSocket handshake with status "
                    + upstreamStatus + " instead of 101", 0);
              } else {
                upstreamFailed(x);
              }
            }

            @Override
            public void closed(long in, long out, Throwable failure) {
              if (finished.compareAndSet(false, true)) {
                ttfbNanos = -1;
                webSocketBytesIn = in;
                bytesOut = out;
                release(false);
                record(101, failure == null ? null : GatewayError.UPSTREAM_RESET.code());
              }
            }
          });
    }

    private String contentType() {
      return req.getHeaders().get(HttpHeader.CONTENT_TYPE);
    }

    private void copyHeaders(HttpFields.Mutable h) {
      HttpFields in = req.getHeaders();
      List<String> connectionListed = in.contains(HttpHeader.CONNECTION) ? in.getCSV(HttpHeader.CONNECTION, false) : List.of();
      for (HttpField f : in) {
        String name = f.getLowerCaseName();
        if (HOP_BY_HOP.contains(name) || name.equals("traceparent") || name.startsWith("x-flightdeck-")
            || (!connectionListed.isEmpty() && connectionListed.stream().anyMatch(c -> c.equalsIgnoreCase(name)))) {
          continue;
        }
        h.add(f);
      }
      String host = in.get(HttpHeader.HOST);
      if (host != null) {
        h.put("X-Forwarded-Host", host);
      }
      String remote = Request.getRemoteAddr(req);
      String xff = in.get("X-Forwarded-For");
      h.put("X-Forwarded-For", xff == null ? remote : xff + ", " + remote);
      h.put("X-Forwarded-Proto", req.getHttpURI().getScheme() == null ? "http" : req.getHttpURI().getScheme());
      h.put("traceparent", traceparent);
      h.put("X-Request-Id", requestId);
      h.put("X-Flightdeck-Agent", agent.name());
      h.put("X-Flightdeck-Version", version.name());
      if (session != null) {
        h.put("X-Flightdeck-Session", session);
      }
    }

    /** Listens to one attempt's upstream response and streams it to the client. */
    private final class Listener implements org.eclipse.jetty.client.Response.Listener {
      private final org.eclipse.jetty.client.Request up;

      Listener(org.eclipse.jetty.client.Request up) {
        this.up = up;
      }

      @Override
      public void onBegin(org.eclipse.jetty.client.Response r) {
        firstByteDeadline = 0;
        ttfbNanos = System.nanoTime() - sendNanos;
        status = r.getStatus();
        resp.setStatus(status);
      }

      @Override
      public void onHeaders(org.eclipse.jetty.client.Response r) {
        HttpFields.Mutable out = resp.getHeaders();
        for (HttpField f : r.getHeaders()) {
          String name = f.getLowerCaseName();
          if (HOP_BY_HOP.contains(name)) {
            continue;
          }
          if (name.equals("x-flightdeck-usage")) {
            headerUsage = Usage.fromUsageObject(f.getValue());
            continue;
          }
          if (name.startsWith(MetricHeaders.PREFIX)) {
            // Recorded and passed on: the client may want them too.
            customMetrics = MetricHeaders.add(customMetrics, name, f.getValue());
          }
          out.add(f);
        }
        out.put("X-Flightdeck-Version", version.name());
        out.put("X-Request-Id", requestId);
        String ct = r.getHeaders().get(HttpHeader.CONTENT_TYPE);
        sse = ct != null && ct.startsWith("text/event-stream");
        scanner = UsageScanner.forContentType(ct);
        if (shadowTarget != null) {
          primaryCopy = new ByteArrayOutputStream();
        }
      }

      @Override
      public void onContent(org.eclipse.jetty.client.Response r, Content.Chunk chunk, Runnable demander) {
        ByteBuffer buf = chunk.getByteBuffer();
        int n = buf.remaining();
        bytesOut += n;
        if (scanner != null) {
          scanner.accept(buf);
        }
        if (primaryCopy != null) {
          if (primaryCopy.size() + n <= MAX_INSPECTED_BODY) {
            ByteBuffer d = buf.duplicate();
            byte[] copy = new byte[n];
            d.get(copy);
            primaryCopy.writeBytes(copy);
          } else {
            primaryCopy = null;
            shadowTarget = null;
          }
        }
        chunk.retain();
        resp.write(false, buf, new Callback() {
          @Override
          public void succeeded() {
            chunk.release();
            demander.run();
          }

          @Override
          public void failed(Throwable x) {
            chunk.release();
            clientFailed = true;
            r.abort(x);
          }

          @Override
          public InvocationType getInvocationType() {
            return InvocationType.NON_BLOCKING;
          }
        });
      }

      @Override
      public void onComplete(Result result) {
        firstByteDeadline = 0;
        if (result.isSucceeded()) {
          resp.write(true, BufferUtil.EMPTY_BUFFER, Callback.from(
              () -> complete(null), x -> complete(x)));
          return;
        }
        Throwable x = result.getFailure();
        if (clientFailed) {
          complete(x);
          return;
        }
        boolean nothingSent = requestBody == null || !requestBody.touched;
        if (!resp.isCommitted() && isConnectFailure(x) && nothingSent && attempt <= version.retryAttempts()
            && (System.nanoTime() - startNanos) < version.timeouts().total().toNanos()) {
          version.balancer().release(endpoint, true);
          failedEndpoint = endpoint;
          endpoint = null;
          send();
          return;
        }
        upstreamFailed(x);
      }
    }

    /** The upstream attempt failed: answer with an error if nothing was sent, else break the stream. */
    void upstreamFailed(Throwable x) {
      GatewayError error = classify(x);
      String message = describe(error, x);
      if (!resp.isCommitted()) {
        resp.reset();
        fail(error, message, 0);
        return;
      }
      // Mid-stream: the client must see the failure, never a clean end.
      if (sse) {
        String event = "event: error\ndata: " + errorJson(error, message) + "\n\n";
        resp.write(false, ByteBuffer.wrap(event.getBytes(StandardCharsets.UTF_8)),
            Callback.from(() -> abort(error, x), y -> abort(error, x)));
      } else {
        abort(error, x);
      }
    }

    private void abort(GatewayError error, Throwable x) {
      if (finished.compareAndSet(false, true)) {
        release(true);
        record(0, error.code());
        callback.failed(x);
      }
    }

    /** The response ended (its last write completed or failed). */
    void complete(Throwable writeFailure) {
      if (!finished.compareAndSet(false, true)) {
        return;
      }
      boolean upstreamError = status >= 500;
      release(upstreamError);
      if (writeFailure != null) {
        record(0, null);
        callback.failed(writeFailure);
        return;
      }
      record(status, null);
      callback.succeeded();
      if (shadowTarget != null && primaryCopy != null) {
        shadows.submit(new ShadowMirror.Mirror(agent.name(), shadowTarget, req.getMethod(), path,
            req.getHttpURI().getQuery(), mirroredHeaders(), body, status, primaryCopy.toByteArray(),
            agent.shadow()));
      }
    }

    /** Answers with one of the gateway's own errors. */
    void fail(GatewayError error, String message, long retryAfterSeconds) {
      if (!finished.compareAndSet(false, true)) {
        return;
      }
      boolean upstreamError = error == GatewayError.UPSTREAM_TIMEOUT || error == GatewayError.UPSTREAM_UNAVAILABLE
          || error == GatewayError.UPSTREAM_RESET;
      release(upstreamError);
      if (error == GatewayError.OVERLOADED || error == GatewayError.CIRCUIT_OPEN || version == null) {
        metrics.rejected(agentName, error.code());
      }
      HttpFields.Mutable h = resp.getHeaders();
      resp.setStatus(error.status());
      h.put(HttpHeader.CONTENT_TYPE, "application/json");
      h.put("X-Flightdeck-Error", error.code());
      if (requestId != null) {
        h.put("X-Request-Id", requestId);
      }
      if (retryAfterSeconds > 0) {
        h.put(HttpHeader.RETRY_AFTER, Long.toString(retryAfterSeconds));
      }
      if (version != null) {
        record(error.status(), error.code());
      }
      Content.Sink.write(resp, true, errorJson(error, message), callback);
    }

    private String errorJson(GatewayError error, String message) {
      StringBuilder sb = new StringBuilder(128 + message.length());
      sb.append("{\"error\":{\"code\":\"").append(error.code()).append("\",\"type\":\"gateway_error\",\"message\":\"");
      escape(sb, message);
      sb.append('"');
      if (agent != null) {
        sb.append(",\"agent\":\"").append(agent.name()).append('"');
      }
      if (version != null) {
        sb.append(",\"version\":\"").append(version.name()).append('"');
      }
      if (requestId != null) {
        sb.append(",\"requestId\":\"");
        escape(sb, requestId);
        sb.append('"');
      }
      return sb.append("}}").toString();
    }

    /** Gives back the replica, the breaker probe and the admission slots. */
    private void release(boolean upstreamFailed) {
      if (endpoint != null) {
        version.balancer().release(endpoint, upstreamFailed);
        endpoint = null;
      }
      if (breakerPassed) {
        version.breaker().record(upstreamFailed);
        breakerPassed = false;
      }
      if (versionGateHeld) {
        version.gate().release();
        versionGateHeld = false;
      }
      if (agentGateHeld) {
        agent.gate().release();
        agentGateHeld = false;
      }
    }

    private void record(int clientStatus, String code) {
      Usage u = headerUsage.known() ? headerUsage : scanner == null ? Usage.NONE : scanner.result();
      if (tally != null) {
        ledger.close(version.name(), session, tally);
        if (tally.calls() > 0) {
          u = tally.usage(); // what the model gateway metered is what the calls cost
        }
        if (code == null && tally.haltCode() != null) {
          code = tally.haltCode();
        }
      }
      long bytesIn = body != null ? body.length : requestBody != null ? requestBody.bytes : webSocketBytesIn;
      RequestRecord r = new RequestRecord(agent.name(), version.name(), session, rule, clientStatus, code,
          ttfbNanos, System.nanoTime() - startNanos, bytesIn, bytesOut, u.promptTokens(), u.completionTokens(),
          u.cachedTokens(), u.costUsd(), false, customMetrics);
      sink.accept(r);
    }

    private List<Map.Entry<String, String>> mirroredHeaders() {
      List<Map.Entry<String, String>> out = new ArrayList<>();
      HttpFields.Mutable h = HttpFields.build();
      copyHeaders(h);
      for (HttpField f : h) {
        if (!f.getLowerCaseName().equals("content-length") && !f.getLowerCaseName().equals("x-flightdeck-version")) {
          out.add(Map.entry(f.getName(), f.getValue()));
        }
      }
      return out;
    }

    boolean hasBody() {
      return req.getLength() > 0 || req.getHeaders().contains(HttpHeader.TRANSFER_ENCODING);
    }

    String cookie(String name) {
      List<HttpCookie> cookies = Request.getCookies(req);
      for (HttpCookie c : cookies) {
        if (c.getName().equals(name)) {
          return c.getValue();
        }
      }
      return null;
    }
  }

  /** The status the agent answered a WebSocket handshake with, or 0 when it did not answer. */
  static int upgradeStatus(Throwable x) {
    for (Throwable t = x; t != null; t = t.getCause()) {
      if (t instanceof UpgradeException u && u.getResponseStatusCode() > 0 && u.getResponseStatusCode() != 101) {
        return u.getResponseStatusCode();
      }
    }
    return 0;
  }

  static GatewayError classify(Throwable x) {
    for (Throwable t = x; t != null; t = t.getCause()) {
      if (t instanceof TimeoutException) {
        return GatewayError.UPSTREAM_TIMEOUT;
      }
      if (isConnectFailure(t)) {
        return GatewayError.UPSTREAM_UNAVAILABLE;
      }
    }
    return GatewayError.UPSTREAM_RESET;
  }

  static String describe(GatewayError error, Throwable x) {
    String detail = x.getMessage() == null ? x.getClass().getSimpleName() : x.getMessage();
    return switch (error) {
      case UPSTREAM_TIMEOUT -> "the agent did not answer in time: " + detail;
      case UPSTREAM_UNAVAILABLE -> "no replica of the agent could be reached: " + detail;
      default -> "the agent broke the connection: " + detail;
    };
  }

  static boolean isConnectFailure(Throwable x) {
    for (Throwable t = x; t != null; t = t.getCause()) {
      if (t instanceof ConnectException || t instanceof NoRouteToHostException
          || t instanceof UnknownHostException || t instanceof UnresolvedAddressException) {
        return true;
      }
    }
    return false;
  }

  private static void escape(StringBuilder sb, String s) {
    JsonStringEncoder.getInstance().quoteAsString(s, sb);
  }

  /** Reads a top-level string field of a JSON body, or null. */
  static String bodyField(byte[] bytes, String field) {
    try (JsonParser p = JSON.createParser(bytes)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        if (name.equals(field) && (t == JsonToken.VALUE_STRING || t == JsonToken.VALUE_NUMBER_INT)) {
          return p.getText();
        }
        p.skipChildren();
      }
      return null;
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * Aborts attempts whose response headers are late. One thread sweeps the attempts waiting for
   * their first byte every {@value #SWEEP_MILLIS} ms; that costs a queue insert per request,
   * where a scheduled task per request costs a lock and a heap operation twice.
   */
  static final long SWEEP_MILLIS = 5;

  private static final class FirstByteWatchdog {
    private final java.util.concurrent.ConcurrentLinkedQueue<Exchange> waiting = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final Thread thread = Thread.ofPlatform().daemon().name("flightdeck-gateway-watchdog").start(this::sweep);

    void stop() {
      thread.interrupt();
    }

    void watch(Exchange ex) {
      waiting.add(ex);
    }

    private void sweep() {
      while (true) {
        try {
          Thread.sleep(SWEEP_MILLIS);
        } catch (InterruptedException e) {
          return;
        }
        long now = System.nanoTime();
        for (java.util.Iterator<Exchange> it = waiting.iterator(); it.hasNext(); ) {
          Exchange ex = it.next();
          long due = ex.firstByteDeadline;
          if (due == 0) {
            it.remove();
          } else if (now - due >= 0) {
            it.remove();
            ex.firstByteDeadline = 0;
            org.eclipse.jetty.client.Request up = ex.upstream;
            if (up != null) {
              up.abort(new FirstByteTimeout(ex.version.timeouts().firstByte().toMillis()));
            }
          }
        }
      }
    }
  }

  /** The first byte did not arrive in time. */
  static final class FirstByteTimeout extends TimeoutException {
    FirstByteTimeout(long millis) {
      super("no response headers within the first-byte timeout of " + millis + " ms");
    }
  }

  /** The client's request body, counted, and marked once any of it was read. */
  private static final class CountingSource implements Content.Source {
    private final Content.Source in;
    volatile boolean touched;
    long bytes;

    CountingSource(Content.Source in) {
      this.in = in;
    }

    @Override
    public Content.Chunk read() {
      Content.Chunk c = in.read();
      if (c != null && c.hasRemaining()) {
        touched = true;
        bytes += c.remaining();
      }
      return c;
    }

    @Override
    public long getLength() {
      return in.getLength();
    }

    @Override
    public void demand(Runnable demandCallback) {
      in.demand(demandCallback);
    }

    @Override
    public void fail(Throwable failure) {
      in.fail(failure);
    }

    @Override
    public void fail(Throwable failure, boolean last) {
      in.fail(failure, last);
    }
  }
}

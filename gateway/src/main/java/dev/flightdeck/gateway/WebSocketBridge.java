package dev.flightdeck.gateway;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;
import org.eclipse.jetty.websocket.client.ClientUpgradeRequest;
import org.eclipse.jetty.websocket.client.WebSocketClient;
import org.eclipse.jetty.websocket.server.ServerWebSocketContainer;

/**
 * WebSocket pass-through. The upstream's handshake comes first: only when the agent accepted the
 * upgrade (and chose a subprotocol) is the client's upgrade accepted, so a refused or failed
 * upstream handshake is still an HTTP error with a stable code. Then frames are relayed as they
 * come, fragment by fragment, each side reading its next frame only when the other side has
 * sent the previous one (back-pressure both ways); a close on either side closes the other with
 * the same code and reason.
 */
public final class WebSocketBridge {

  /** Frames larger than this are refused (close 1009), on either side. */
  static final long MAX_FRAME = 16L * 1024 * 1024;

  private final ServerWebSocketContainer container;
  private final WebSocketClient client;

  /** What the exchange that asked for the bridge hears back. */
  interface Outcome {
    /** The upstream handshake failed: nothing was sent to the client yet. */
    void refused(Throwable cause);

    /** Both sides closed; {@code failure} is null for a clean close. */
    void closed(long bytesIn, long bytesOut, Throwable failure);
  }

  WebSocketBridge(Server server, HttpClient http) {
    this.container = ServerWebSocketContainer.ensure(server);
    container.setMaxFrameSize(MAX_FRAME);
    container.setMaxTextMessageSize(MAX_FRAME);
    container.setMaxBinaryMessageSize(MAX_FRAME);
    this.client = new WebSocketClient(http);
    client.setMaxFrameSize(MAX_FRAME);
    client.setMaxTextMessageSize(MAX_FRAME);
    client.setMaxBinaryMessageSize(MAX_FRAME);
    server.addBean(client);
  }

  /** Whether the request asks for a WebSocket upgrade (HTTP/1.1 {@code Upgrade: websocket}). */
  static boolean isUpgrade(Request req) {
    String upgrade = req.getHeaders().get("Upgrade");
    return upgrade != null && upgrade.equalsIgnoreCase("websocket") && "GET".equals(req.getMethod());
  }

  /**
   * Connects to {@code target} (an http URL, turned into ws) with {@code headers}, then upgrades
   * the client's request and relays frames until either side closes.
   */
  void open(URI target, Map<String, List<String>> headers, Duration connectTimeout, Duration idle,
      Request req, Response resp, org.eclipse.jetty.util.Callback callback, Outcome outcome) {
    Pair pair = new Pair(idle, outcome);
    ClientUpgradeRequest up = new ClientUpgradeRequest();
    headers.forEach(up::setHeader);
    List<String> protocols = req.getHeaders().getCSV("Sec-WebSocket-Protocol", false);
    if (!protocols.isEmpty()) {
      up.setSubProtocols(protocols);
    }
    up.setTimeout(connectTimeout.toMillis(), TimeUnit.MILLISECONDS);
    URI ws = URI.create((target.getScheme().equals("https") ? "wss" : "ws") + target.toString().substring(target.getScheme().length()));
    try {
      client.connect(pair.upstream, ws, up).whenComplete((session, x) -> {
        if (x != null) {
          outcome.refused(x);
          return;
        }
        boolean upgraded;
        try {
          upgraded = container.upgrade((rq, rs, cb) -> {
            String accepted = session.getUpgradeResponse().getAcceptedSubProtocol();
            if (accepted != null) {
              rs.setAcceptedSubProtocol(accepted);
            }
            return pair.downstream;
          }, req, resp, callback);
        } catch (RuntimeException e) {
          upgraded = false;
        }
        if (!upgraded) {
          pair.done.set(true);
          session.close(StatusCode.SERVER_ERROR, "the client's upgrade request was not valid", Callback.NOOP);
          outcome.refused(new IOException("the client's WebSocket upgrade request was not valid"));
        }
      });
    } catch (IOException | RuntimeException e) {
      outcome.refused(e);
    }
  }

  /** The two sessions of one bridged connection (public: Jetty calls the listeners through public lookups). */
  public static final class Pair {
    final Duration idle;
    final Outcome outcome;
    final Side downstream = new Side("client");
    final Side upstream = new Side("agent");
    final AtomicBoolean done = new AtomicBoolean();
    final AtomicLong fromClient = new AtomicLong();
    final AtomicLong fromAgent = new AtomicLong();
    volatile Throwable failure;

    Pair(Duration idle, Outcome outcome) {
      this.idle = idle;
      this.outcome = outcome;
      downstream.peer = upstream;
      upstream.peer = downstream;
    }

    void finish() {
      if (done.compareAndSet(false, true)) {
        outcome.closed(fromClient.get(), fromAgent.get(), failure);
      }
    }

    /** One side's session; what it reads goes to {@link #peer}. */
    public final class Side implements Session.Listener {
      final String name;
      Side peer;
      volatile Session session;
      volatile boolean closed;

      Side(String name) {
        this.name = name;
      }

      private AtomicLong counter() {
        return this == downstream ? fromClient : fromAgent;
      }

      @Override
      public void onWebSocketOpen(Session s) {
        session = s;
        s.setIdleTimeout(idle);
        // The agent's side opens first; both start reading once the client's side is open too.
        if (this == downstream) {
          Session agent = peer.session;
          if (!agent.isOpen()) {
            s.close(StatusCode.SERVER_ERROR, "the agent closed the connection", Callback.NOOP);
            return;
          }
          s.demand();
          agent.demand();
        }
      }

      @Override
      public void onWebSocketPartialText(String text, boolean fin) {
        counter().addAndGet(text.getBytes(StandardCharsets.UTF_8).length);
        peer.session.sendPartialText(text, fin, Callback.from(session::demand, this::fail));
      }

      @Override
      public void onWebSocketPartialBinary(ByteBuffer data, boolean fin, Callback callback) {
        counter().addAndGet(data.remaining());
        peer.session.sendPartialBinary(data, fin, Callback.from(() -> {
          callback.succeed();
          session.demand();
        }, x -> {
          callback.fail(x);
          fail(x);
        }));
      }

      @Override
      public void onWebSocketPing(ByteBuffer payload) {
        peer.session.sendPing(payload, Callback.from(session::demand, this::fail));
      }

      @Override
      public void onWebSocketPong(ByteBuffer payload) {
        peer.session.sendPong(payload, Callback.from(session::demand, this::fail));
      }

      @Override
      public void onWebSocketError(Throwable cause) {
        if (failure == null) {
          failure = cause;
        }
        closed = true;
        Session other = peer.session;
        if (other != null && other.isOpen()) {
          other.close(StatusCode.SERVER_ERROR, "the " + name + " side failed: " + cause.getMessage(), Callback.NOOP);
        }
        maybeFinish();
      }

      @Override
      public void onWebSocketClose(int code, String reason) {
        closed = true;
        Session other = peer.session;
        if (other != null && other.isOpen()) {
          other.close(code, reason, Callback.NOOP);
        }
        maybeFinish();
      }

      private void maybeFinish() {
        if (closed && (peer.closed || peer.session == null)) {
          finish();
        }
      }

      private void fail(Throwable x) {
        if (failure == null) {
          failure = x;
        }
        session.close(StatusCode.SERVER_ERROR, "could not relay to the " + peer.name + ": " + x.getMessage(),
            Callback.NOOP);
      }
    }
  }
}

package dev.flightdeck.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;

/**
 * An agent that misbehaves on purpose, one behaviour per path:
 * <ul>
 *   <li>{@code /echo}: JSON naming this upstream, the headers it got, the body size, and a usage object;
 *       each {@code metric=Name:Value} adds the response header {@code X-Flightdeck-Metric-Name: Value};
 *   <li>{@code /sse?n=N}: N events, then a final event with usage; with {@code gate=1} it waits
 *       for {@link #release} after the first event;
 *   <li>{@code /cut-sse}, {@code /cut-chunked}: some bytes, then the connection is dropped;
 *   <li>{@code /slow?ms=M}: waits M ms before the headers;
 *   <li>{@code /stall}: headers and one chunk, then silence for 10 s;
 *   <li>{@code /status?code=C}: answers with status C;
 *   <li>{@code /upload}: reads the body as it arrives, counting bytes, and says how many;
 *   <li>{@code /garbage}: writes bytes that are not HTTP and closes;
 *   <li>{@code /ws}: a WebSocket echo ({@link Echo}).
 * </ul>
 */
public final class TestUpstream implements AutoCloseable {

  final String name;
  final Server server;
  final ServerConnector connector;
  final AtomicInteger requests = new AtomicInteger();
  final AtomicLong uploadedSoFar = new AtomicLong();
  final ConcurrentHashMap<String, CountDownLatch> gates = new ConcurrentHashMap<>();
  volatile String answer = "ok";

  TestUpstream(String name) throws Exception {
    this.name = name;
    server = new Server();
    connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    server.addConnector(connector);
    WebSocketUpgradeHandler ws = WebSocketUpgradeHandler.from(server, c -> {
      c.setMaxTextMessageSize(1 << 20);
      c.setMaxBinaryMessageSize(1 << 20);
      c.addMapping("/ws", (rq, rs, cb) -> {
      requests.incrementAndGet();
      if (rq.hasSubProtocol("chat.v1")) {
        rs.setAcceptedSubProtocol("chat.v1");
      }
        return new Echo(rq.getHeaders());
      });
    });
    ws.setHandler(new Handler.Abstract() {
      @Override
      public boolean handle(Request req, Response resp, Callback cb) throws Exception {
        requests.incrementAndGet();
        handleRequest(req, resp, cb);
        return true;
      }
    });
    server.setHandler(ws);
    server.start();
  }

  /**
   * {@code /ws}: a WebSocket that first sends the headers it was opened with (as JSON), then
   * echoes every message; the text "close" makes it close with 4000 "bye".
   */
  public final class Echo implements Session.Listener.AutoDemanding {
    private final HttpFields headers;
    private Session session;

    Echo(HttpFields headers) {
      this.headers = headers;
    }

    @Override
    public void onWebSocketOpen(Session s) {
      session = s;
      StringBuilder sb = new StringBuilder("{\"upstream\":\"" + name + "\"");
      for (String h : List.of("X-Flightdeck-Version", "X-Flightdeck-Session", "traceparent", "X-Client")) {
        if (headers.get(h) != null) {
          sb.append(",\"").append(h).append("\":\"").append(headers.get(h)).append('"');
        }
      }
      s.sendText(sb.append('}').toString(), org.eclipse.jetty.websocket.api.Callback.NOOP);
    }

    @Override
    public void onWebSocketText(String text) {
      if (text.equals("close")) {
        session.close(4000, "bye", org.eclipse.jetty.websocket.api.Callback.NOOP);
      } else {
        session.sendText("echo:" + text, org.eclipse.jetty.websocket.api.Callback.NOOP);
      }
    }

    @Override
    public void onWebSocketBinary(ByteBuffer data, org.eclipse.jetty.websocket.api.Callback callback) {
      session.sendBinary(BufferUtil.copy(data), callback);
    }
  }

  String url() {
    return "http://127.0.0.1:" + connector.getLocalPort();
  }

  /** Lets a gated stream go on. */
  void release(String gate) {
    gates.computeIfAbsent(gate, g -> new CountDownLatch(1)).countDown();
  }

  private void handleRequest(Request req, Response resp, Callback cb) throws Exception {
    String path = Request.getPathInContext(req);
    Fields q = Request.extractQueryParameters(req);
    switch (path) {
      case "/echo" -> {
        byte[] body = org.eclipse.jetty.util.BufferUtil.toArray(Content.Source.asByteBuffer(req));
        for (String m : q.getValuesOrEmpty("metric")) {
          int colon = m.indexOf(':');
          resp.getHeaders().add("X-Flightdeck-Metric-" + m.substring(0, colon), m.substring(colon + 1));
        }
        if (q.getValue("plain") != null) {
          resp.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
          Content.Sink.write(resp, true, "{\"id\":\"" + java.util.UUID.randomUUID() + "\",\"answer\":\"" + answer
              + "\",\"usage\":{\"prompt_tokens\":" + body.length + "}}", cb);
          return;
        }
        StringBuilder headers = new StringBuilder();
        for (HttpField f : req.getHeaders()) {
          if (!headers.isEmpty()) {
            headers.append(',');
          }
          headers.append('"').append(f.getLowerCaseName()).append("\":\"")
              .append(f.getValue().replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        String json = "{\"upstream\":\"" + name + "\",\"answer\":\"" + answer + "\",\"path\":\"" + path
            + "\",\"query\":\"" + (req.getHttpURI().getQuery() == null ? "" : req.getHttpURI().getQuery())
            + "\",\"bodyBytes\":" + body.length + ",\"headers\":{" + headers + "},"
            + "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}}";
        resp.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        Content.Sink.write(resp, true, json, cb);
      }
      case "/sse" -> {
        int n = Integer.parseInt(q.getValue("n") == null ? "3" : q.getValue("n"));
        String gate = q.getValue("gate");
        resp.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream");
        try (OutputStream out = Content.Sink.asOutputStream(resp)) {
          for (int i = 0; i < n; i++) {
            out.write(("data: {\"chunk\":" + i + ",\"from\":\"" + name + "\"}\n\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            if (i == 0 && gate != null) {
              if (!gates.computeIfAbsent(gate, g -> new CountDownLatch(1)).await(10, TimeUnit.SECONDS)) {
                throw new IOException("gate " + gate + " was never released");
              }
            }
          }
          out.write("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20}}\n\ndata: [DONE]\n\n"
              .getBytes(StandardCharsets.UTF_8));
        }
        cb.succeeded();
      }
      case "/cut-sse", "/cut-chunked" -> {
        resp.getHeaders().put(HttpHeader.CONTENT_TYPE, path.equals("/cut-sse") ? "text/event-stream" : "application/octet-stream");
        OutputStream out = Content.Sink.asOutputStream(resp);
        out.write("data: {\"chunk\":0}\n\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
        Thread.sleep(50);
        req.getConnectionMetaData().getConnection().getEndPoint().close();
        cb.failed(new IOException("cut on purpose"));
      }
      case "/slow" -> {
        Thread.sleep(Long.parseLong(q.getValue("ms")));
        Content.Sink.write(resp, true, "slow", cb);
      }
      case "/stall" -> {
        OutputStream out = Content.Sink.asOutputStream(resp);
        out.write("first".getBytes(StandardCharsets.UTF_8));
        out.flush();
        Thread.sleep(10_000);
        out.close();
        cb.succeeded();
      }
      case "/status" -> {
        resp.setStatus(Integer.parseInt(q.getValue("code")));
        Content.Sink.write(resp, true, "status", cb);
      }
      case "/upload" -> {
        long total = 0;
        byte[] buf = new byte[65536];
        try (InputStream in = Content.Source.asInputStream(req)) {
          int r;
          while ((r = in.read(buf)) > 0) {
            total += r;
            uploadedSoFar.set(total);
          }
        }
        Content.Sink.write(resp, true, "{\"received\":" + total + "}", cb);
      }
      case "/garbage" -> {
        req.getConnectionMetaData().getConnection().getEndPoint().write(Callback.NOOP,
            java.nio.ByteBuffer.wrap("NOT HTTP AT ALL\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
        Thread.sleep(50);
        req.getConnectionMetaData().getConnection().getEndPoint().close();
        cb.failed(new IOException("garbage on purpose"));
      }
      default -> {
        resp.setStatus(404);
        Content.Sink.write(resp, true, "no such test path " + path, cb);
      }
    }
  }

  @Override
  public void close() throws Exception {
    server.stop();
  }
}

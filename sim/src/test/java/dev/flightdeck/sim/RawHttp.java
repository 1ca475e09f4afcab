package dev.flightdeck.sim;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * A POST over a plain socket that keeps what arrived before the server broke the connection off:
 * java.net.http drops the chunks it has buffered once a stream fails, so it cannot show a cut.
 */
final class RawHttp {

  private RawHttp() {}

  /** The whole raw answer (status line, headers, body) to a POST of {@code body} to {@code base}'s path plus {@code path}. */
  static String post(URI base, String path, Map<String, String> headers, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    StringBuilder head = new StringBuilder("POST " + base.getPath() + path + " HTTP/1.1\r\nHost: localhost\r\n"
        + "Content-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n");
    headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
    head.append("\r\n");
    try (Socket socket = new Socket(base.getHost(), base.getPort())) {
      socket.setSoTimeout(5000);
      socket.getOutputStream().write(head.toString().getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().write(bytes);
      socket.getOutputStream().flush();
      ByteArrayOutputStream received = new ByteArrayOutputStream();
      try {
        socket.getInputStream().transferTo(received);
      } catch (IOException reset) {
        // what arrived before a reset is kept in `received`
      }
      return received.toString(StandardCharsets.UTF_8);
    }
  }
}

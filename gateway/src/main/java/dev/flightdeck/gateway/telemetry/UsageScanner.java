package dev.flightdeck.gateway.telemetry;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Watches response bytes go by, without holding the stream back, to find the usage the agent
 * reported: in a JSON body (kept up to {@value #MAX_JSON} bytes), or in the last SSE
 * {@code data:} event that carries a {@code usage} object (OpenAI streams put it in the final
 * chunk).
 */
public final class UsageScanner {

  static final int MAX_JSON = 256 * 1024;
  private static final int MAX_LINE = 64 * 1024;
  private static final byte[] USAGE = "\"usage\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private final boolean sse;
  private byte[] buf = new byte[1024];
  private int len;
  private boolean overflow;
  private byte[] lastUsageEvent;

  private UsageScanner(boolean sse) {
    this.sse = sse;
  }

  /** A scanner for a response of this content type, or null when it cannot carry usage. */
  public static UsageScanner forContentType(String contentType) {
    if (contentType == null) {
      return null;
    }
    if (contentType.startsWith("text/event-stream")) {
      return new UsageScanner(true);
    }
    if (contentType.startsWith("application/json") || contentType.contains("+json")) {
      return new UsageScanner(false);
    }
    return null;
  }

  /** Looks at a chunk; does not consume {@code chunk} (reads a duplicate). */
  public void accept(ByteBuffer chunk) {
    if (overflow && !sse) {
      return;
    }
    ByteBuffer b = chunk.duplicate();
    if (!sse) {
      append(b, b.remaining());
      return;
    }
    while (b.hasRemaining()) {
      byte c = b.get();
      if (c == '\n') {
        endLine();
      } else if (len < MAX_LINE) {
        ensure(len + 1);
        buf[len++] = c;
      }
    }
  }

  /** The usage found once the response has ended. */
  public Usage result() {
    if (sse) {
      endLine();
      return lastUsageEvent == null ? Usage.NONE : Usage.fromDocument(lastUsageEvent, 0, lastUsageEvent.length);
    }
    return overflow ? Usage.NONE : Usage.fromDocument(buf, 0, len);
  }

  private void endLine() {
    int n = len;
    if (n > 0 && buf[n - 1] == '\r') {
      n--;
    }
    if (n > 5 && buf[0] == 'd' && buf[1] == 'a' && buf[2] == 't' && buf[3] == 'a' && buf[4] == ':'
        && contains(buf, n, USAGE)) {
      int start = buf[5] == ' ' ? 6 : 5;
      lastUsageEvent = Arrays.copyOfRange(buf, start, n);
    }
    len = 0;
  }

  private void append(ByteBuffer b, int n) {
    if (len + n > MAX_JSON) {
      overflow = true;
      buf = null;
      return;
    }
    ensure(len + n);
    b.get(buf, len, n);
    len += n;
  }

  private void ensure(int capacity) {
    if (capacity > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(capacity, buf.length * 2));
    }
  }

  private static boolean contains(byte[] hay, int n, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= n; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}

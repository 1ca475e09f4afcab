package dev.flightdeck.gateway.model;

import dev.flightdeck.gateway.telemetry.Usage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Relays an OpenAI chat completions stream (server-sent events) event by event, reading the
 * usage the last chunk carries. The gateway always asks the provider for that chunk
 * ({@code stream_options.include_usage}); when the client did not ask for it, it is not
 * forwarded, so the client sees the stream it asked for.
 */
final class OpenAiStream {

  private static final int MAX_EVENT = 1 << 20;
  private static final byte[] USAGE = "\"usage\":{".getBytes(StandardCharsets.US_ASCII);
  /** As Python servers (vLLM, LiteLLM) write it. */
  private static final byte[] USAGE_SPACED = "\"usage\": {".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] NO_CHOICES = "\"choices\":[]".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] NO_CHOICES_SPACED = "\"choices\": []".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] DONE = "data: [DONE]".getBytes(StandardCharsets.US_ASCII);

  private final boolean forwardUsageChunk;
  private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
  private Usage usage = Usage.NONE;
  private boolean done;

  OpenAiStream(boolean forwardUsageChunk) {
    this.forwardUsageChunk = forwardUsageChunk;
  }

  /** Takes upstream bytes; returns the complete events to send now. */
  byte[] feed(byte[] b, int off, int len) {
    pending.write(b, off, len);
    byte[] buf = pending.toByteArray();
    ByteArrayOutputStream out = new ByteArrayOutputStream(buf.length);
    int start = 0;
    int i = 0;
    while (i < buf.length) {
      int end = eventEnd(buf, i);
      if (end < 0) {
        break;
      }
      event(buf, start, end, out);
      start = end;
      i = end;
    }
    pending.reset();
    if (buf.length - start > MAX_EVENT) {
      // Not SSE as we know it: pass it on rather than hold it.
      out.write(buf, start, buf.length - start);
    } else {
      pending.write(buf, start, buf.length - start);
    }
    return out.toByteArray();
  }

  /** What is left when the upstream ended: an unterminated last event, sent as it is. */
  byte[] finish() {
    byte[] rest = pending.toByteArray();
    pending.reset();
    if (rest.length > 0) {
      readUsage(rest, 0, rest.length);
    }
    return rest;
  }

  /** The usage the stream reported, {@link Usage#NONE} if it reported none. */
  Usage usage() {
    return usage;
  }

  /** Whether {@code data: [DONE]} was seen. */
  boolean done() {
    return done;
  }

  private void event(byte[] buf, int from, int to, ByteArrayOutputStream out) {
    if (indexOf(buf, from, to, DONE) >= 0) {
      done = true;
    }
    boolean hasUsage = indexOf(buf, from, to, USAGE) >= 0 || indexOf(buf, from, to, USAGE_SPACED) >= 0;
    if (hasUsage) {
      readUsage(buf, from, to);
    }
    if (hasUsage && !forwardUsageChunk
        && (indexOf(buf, from, to, NO_CHOICES) >= 0 || indexOf(buf, from, to, NO_CHOICES_SPACED) >= 0)) {
      return;
    }
    out.write(buf, from, to - from);
  }

  private void readUsage(byte[] buf, int from, int to) {
    int data = indexOf(buf, from, to, "data:".getBytes(StandardCharsets.US_ASCII));
    if (data < 0) {
      return;
    }
    Usage u = Usage.fromDocument(buf, data + 5, to - data - 5);
    if (u.known()) {
      usage = u;
    }
  }

  /** The index just past the blank line that ends the event starting at or after {@code from}, or -1. */
  private static int eventEnd(byte[] b, int from) {
    for (int i = from; i < b.length - 1; i++) {
      if (b[i] == '\n' && b[i + 1] == '\n') {
        return i + 2;
      }
      if (b[i] == '\n' && b[i + 1] == '\r' && i + 2 < b.length && b[i + 2] == '\n') {
        return i + 3;
      }
    }
    return -1;
  }

  private static int indexOf(byte[] hay, int from, int to, byte[] needle) {
    outer:
    for (int i = from; i <= to - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}

package dev.flightdeck.api.audit;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.flightdeck.api.FlightdeckException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The export file: JSON Lines, verifiable offline with nothing but this class (or any tool that
 * follows {@link AuditChain}). Line 1 is a header with the public keys; then every checkpoint;
 * then every entry in sequence order.
 *
 * <pre>
 * {"format":"flightdeck-audit-export","version":1,"chain":"sha256-v1","keys":[{"keyId":"..","publicKey":"<base64 X.509>"}]}
 * {"type":"checkpoint","seq":1000,"hash":"..","time":"..","keyId":"..","signature":"<base64>"}
 * {"type":"entry","seq":1,"time":"2026-11-22T14:00:00.123Z","principal":"token:admin","action":"resource.create",
 *  "resource":"agent/a","before":null,"after":"sha256:..","details":"{}","prevHash":"000..","hash":".."}
 * </pre>
 */
public final class AuditExport {

  /** The value of the header's "format" field. */
  public static final String FORMAT = "flightdeck-audit-export";
  private static final JsonFactory JSON = new JsonFactory();

  /** Writes an export line by line; close it to flush. */
  public static final class Writer implements AutoCloseable {
    private final JsonGenerator g;

    /** Starts an export with the keys that signed its checkpoints. */
    public Writer(OutputStream out, Map<String, PublicKey> keys) throws IOException {
      g = JSON.createGenerator(out);
      g.setRootValueSeparator(null); // lines are ended explicitly below
      g.writeStartObject();
      g.writeStringField("format", FORMAT);
      g.writeNumberField("version", 1);
      g.writeStringField("chain", "sha256-v1");
      g.writeArrayFieldStart("keys");
      for (Map.Entry<String, PublicKey> k : keys.entrySet()) {
        g.writeStartObject();
        g.writeStringField("keyId", k.getKey());
        g.writeStringField("publicKey", Base64.getEncoder().encodeToString(k.getValue().getEncoded()));
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
      g.writeRaw('\n');
    }

    /** Writes a checkpoint line (all checkpoints come before the entries). */
    public void checkpoint(Checkpoint c) throws IOException {
      g.writeStartObject();
      g.writeStringField("type", "checkpoint");
      g.writeNumberField("seq", c.seq());
      g.writeStringField("hash", c.hash());
      g.writeStringField("time", c.time().toString());
      g.writeStringField("keyId", c.keyId());
      g.writeStringField("signature", c.signature());
      g.writeEndObject();
      g.writeRaw('\n');
    }

    /** Writes an entry line. */
    public void entry(AuditEntry e) throws IOException {
      AuditEvent ev = e.event();
      g.writeStartObject();
      g.writeStringField("type", "entry");
      g.writeNumberField("seq", e.seq());
      g.writeStringField("time", e.time().toString());
      g.writeStringField("principal", ev.principal());
      g.writeStringField("action", ev.action());
      g.writeStringField("resource", ev.resource());
      g.writeStringField("before", ev.before().orElse(null));
      g.writeStringField("after", ev.after().orElse(null));
      g.writeStringField("details", ev.details());
      g.writeStringField("prevHash", e.prevHash());
      g.writeStringField("hash", e.hash());
      g.writeEndObject();
      g.writeRaw('\n');
    }

    @Override
    public void close() throws IOException {
      g.close();
    }
  }

  private AuditExport() {}

  /**
   * Verifies an export offline. With {@code trusted}, only checkpoints signed by that key count
   * (pin the server's key: an attacker who rewrote the file could also swap the header's key).
   *
   * @throws FlightdeckException when the file is not an export at all (the line is named)
   */
  public static VerifyReport verify(InputStream in, Optional<PublicKey> trusted) throws IOException {
    try (JsonParser p = JSON.createParser(in)) {
      long line = 1;
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new FlightdeckException("line 1: expected the export header {\"format\":\"" + FORMAT + "\",...}");
      }
      Map<String, PublicKey> keys = header(p);
      List<Checkpoint> checkpoints = new ArrayList<>();
      AuditVerifier verifier = null;
      while (p.nextToken() == JsonToken.START_OBJECT) {
        line++;
        Map<String, String> f = fields(p, line);
        String type = f.getOrDefault("type", "");
        if (type.equals("checkpoint")) {
          if (verifier != null) {
            throw new FlightdeckException("line " + line + ": checkpoint after entries; expected all checkpoints first");
          }
          checkpoints.add(new Checkpoint(num(f, "seq", line), req(f, "hash", line), time(f, line),
              req(f, "keyId", line), req(f, "signature", line)));
        } else if (type.equals("entry")) {
          if (verifier == null) {
            verifier = AuditVerifier.create(checkpoints, keys, trusted);
          }
          AuditEvent ev = new AuditEvent(req(f, "principal", line), req(f, "action", line), req(f, "resource", line),
              Optional.ofNullable(f.get("before")), Optional.ofNullable(f.get("after")), req(f, "details", line));
          if (!verifier.accept(new AuditEntry(num(f, "seq", line), time(f, line), ev, req(f, "prevHash", line),
              req(f, "hash", line)))) {
            break;
          }
        } else {
          throw new FlightdeckException("line " + line + ": expected type checkpoint or entry, got \"" + type + "\"");
        }
      }
      if (verifier == null) {
        verifier = AuditVerifier.create(checkpoints, keys, trusted);
      }
      return verifier.finish();
    }
  }

  /** Reads a public key from its base64 X.509 encoding (as in the export header and `audit key`). */
  public static PublicKey publicKey(String base64) {
    try {
      return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(base64.strip())));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new FlightdeckException("expected a base64 Ed25519 public key (X.509), got something else: " + e.getMessage(), e);
    }
  }

  private static Map<String, PublicKey> header(JsonParser p) throws IOException {
    Map<String, PublicKey> keys = new HashMap<>();
    String format = null;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken t = p.nextToken();
      if (name.equals("format")) {
        format = p.getText();
      } else if (name.equals("keys") && t == JsonToken.START_ARRAY) {
        while (p.nextToken() == JsonToken.START_OBJECT) {
          Map<String, String> k = fields(p, 1);
          keys.put(req(k, "keyId", 1), publicKey(req(k, "publicKey", 1)));
        }
      } else {
        p.skipChildren();
      }
    }
    if (!FORMAT.equals(format)) {
      throw new FlightdeckException("line 1: expected an export header with \"format\":\"" + FORMAT + "\", got " + format);
    }
    return keys;
  }

  private static Map<String, String> fields(JsonParser p, long line) throws IOException {
    Map<String, String> f = new HashMap<>();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken t = p.nextToken();
      if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
        throw new FlightdeckException("line " + line + ": field " + name + ": expected a string or number");
      }
      if (t != JsonToken.VALUE_NULL) {
        f.put(name, p.getText());
      }
    }
    return f;
  }

  private static String req(Map<String, String> f, String name, long line) {
    String v = f.get(name);
    if (v == null) {
      throw new FlightdeckException("line " + line + ": missing field " + name);
    }
    return v;
  }

  private static long num(Map<String, String> f, String name, long line) {
    try {
      return Long.parseLong(req(f, name, line));
    } catch (NumberFormatException e) {
      throw new FlightdeckException("line " + line + ": field " + name + ": expected an integer, got " + f.get(name));
    }
  }

  private static Instant time(Map<String, String> f, long line) {
    try {
      return Instant.parse(req(f, "time", line));
    } catch (java.time.format.DateTimeParseException e) {
      throw new FlightdeckException("line " + line + ": field time: expected an ISO-8601 instant, got " + f.get("time"));
    }
  }
}

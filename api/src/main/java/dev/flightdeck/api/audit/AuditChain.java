package dev.flightdeck.api.audit;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;

/**
 * The audit chain's exact byte format, shared by the writer, the verifier and anyone who wants
 * to check an export with their own tools.
 *
 * <pre>
 * canonical(entry) = "fd-audit-v1" field(seq) field(timeMillis) field(principal) field(action)
 *                    field(resource) field(before or "") field(after or "") field(details)
 * field(s)         = 4-byte big-endian length of UTF-8(s), then UTF-8(s)   (numbers in decimal)
 * hash             = hex(SHA-256(bytes(prevHash) || SHA-256(canonical(entry))))
 * </pre>
 *
 * Length prefixes make the encoding unambiguous: no choice of field values can make two
 * different entries encode alike. Hashing the content separately lets a verifier compute the
 * content hashes in parallel and run only the cheap 64-byte chain step in sequence.
 */
public final class AuditChain {

  /** The hash the first entry chains to. */
  public static final String GENESIS = "0".repeat(64);
  private static final byte[] DOMAIN = "fd-audit-v1".getBytes(StandardCharsets.UTF_8);
  private static final HexFormat HEX = HexFormat.of();
  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  });

  private AuditChain() {}

  /** SHA-256 of the canonical encoding of an entry's content. */
  public static byte[] contentHash(long seq, Instant time, AuditEvent e) {
    MessageDigest md = SHA256.get();
    md.reset();
    md.update(DOMAIN);
    field(md, Long.toString(seq));
    field(md, Long.toString(time.toEpochMilli()));
    field(md, e.principal());
    field(md, e.action());
    field(md, e.resource());
    field(md, e.before().orElse(""));
    field(md, e.after().orElse(""));
    field(md, e.details());
    return md.digest();
  }

  /** The chain step: hex(SHA-256(prevHash bytes || contentHash)). */
  public static String link(String prevHash, byte[] contentHash) {
    MessageDigest md = SHA256.get();
    md.reset();
    md.update(HEX.parseHex(prevHash));
    md.update(contentHash);
    return HEX.formatHex(md.digest());
  }

  /** The hash of an entry with the given content that follows {@code prevHash}. */
  public static String hash(String prevHash, long seq, Instant time, AuditEvent e) {
    return link(prevHash, contentHash(seq, time, e));
  }

  /** The bytes a checkpoint signature covers. */
  public static byte[] checkpointMessage(long seq, String hash, Instant time) {
    return ("fd-audit-checkpoint-v1\n" + seq + "\n" + hash + "\n" + time.toEpochMilli()).getBytes(StandardCharsets.UTF_8);
  }

  /** The key id of a public key: the first 16 hex digits of the SHA-256 of its X.509 encoding. */
  public static String keyId(byte[] publicKeyX509) {
    MessageDigest md = SHA256.get();
    md.reset();
    return HEX.formatHex(md.digest(publicKeyX509)).substring(0, 16);
  }

  private static void field(MessageDigest md, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    int n = b.length;
    md.update((byte) (n >>> 24));
    md.update((byte) (n >>> 16));
    md.update((byte) (n >>> 8));
    md.update((byte) n);
    md.update(b);
  }
}

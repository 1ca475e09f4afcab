package dev.flightdeck.store;

import dev.flightdeck.api.resource.Json;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * Bearer secrets (API tokens, model keys) and the short random ids that name them. A secret is 32
 * random bytes, so its SHA-256 is all that needs storing: a slow password hash would add nothing
 * against guessing and would cost every request that presents one.
 */
public final class Secrets {

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final char[] BASE32 = "abcdefghijklmnopqrstuvwxyz234567".toCharArray();

  private Secrets() {}

  /** A new secret: {@code prefix} then 32 random bytes as 43 base64url characters. */
  public static String generate(String prefix) {
    byte[] raw = new byte[32];
    RANDOM.nextBytes(raw);
    return prefix + Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
  }

  /** Lowercase hex SHA-256 of a secret's UTF-8 bytes: what the store keeps instead of the secret. */
  public static String hash(String secret) {
    return Json.sha256Hex(secret.getBytes(StandardCharsets.UTF_8));
  }

  /** A short random id, safe to show (not a secret): {@code prefix} then {@code length} base32 characters. */
  public static String id(String prefix, int length) {
    StringBuilder b = new StringBuilder(prefix.length() + length).append(prefix);
    for (int i = 0; i < length; i++) {
      b.append(BASE32[RANDOM.nextInt(BASE32.length)]);
    }
    return b.toString();
  }
}

package dev.flightdeck.gateway.routing;

/**
 * Stable hashing of ids into buckets, so every gateway replica places a session or a user in
 * the same bucket without talking to the others (64-bit FNV-1a, then a multiply-shift mix).
 */
final class Hashing {

  private Hashing() {}

  /** A bucket in {@code [0, buckets)} for {@code id}. */
  static int bucket(byte[] id, int buckets) {
    long h = 0xcbf29ce484222325L;
    for (byte b : id) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    return (int) Long.remainderUnsigned(h, buckets);
  }
}

package dev.flightdeck.api.audit;

import java.time.Instant;

/**
 * A signed statement "the log's entry {@code seq} has hash {@code hash}". An attacker who rewrites
 * the database can recompute every hash of the chain, but cannot sign a new checkpoint without
 * the private key, which lives outside the database; and deleting the tail of the log leaves a
 * checkpoint pointing past the end.
 *
 * @param seq the entry the checkpoint covers
 * @param hash that entry's hash
 * @param time when it was signed
 * @param keyId which key signed it (first 16 hex digits of the SHA-256 of the public key)
 * @param signature Ed25519 signature over {@link AuditChain#checkpointMessage}, base64
 */
public record Checkpoint(long seq, String hash, Instant time, String keyId, String signature) {}

package dev.flightdeck.api.audit;

import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Recomputes the audit chain entry by entry and checks the signed checkpoints. Feed it the
 * entries in sequence order with {@link #accept}; {@link #finish} reports the first entry that
 * does not match: an altered entry (hash mismatch), a missing one (gap), a reordered or spliced
 * one (broken link), a forged checkpoint (bad signature), or a truncated log (a checkpoint that
 * points past the end, or at an entry whose hash differs). One code path serves the server's
 * verification of its database and the offline verification of an export.
 */
public final class AuditVerifier {

  /** Entries handed to the checking thread at a time. */
  private static final int BATCH = 4096;
  /** Batches in flight at most: bounds memory when reading outpaces hashing. */
  private static final int IN_FLIGHT = 4;

  private final TreeMap<Long, Checkpoint> checkpoints = new TreeMap<>();
  private long expectedSeq = 1;
  private String lastHash = AuditChain.GENESIS;
  private long verified;
  private volatile Optional<VerifyReport.Finding> firstBad = Optional.empty();
  private java.util.List<AuditEntry> batch = new java.util.ArrayList<>(BATCH);
  private final java.util.concurrent.Semaphore inFlight = new java.util.concurrent.Semaphore(IN_FLIGHT);
  private java.util.concurrent.ExecutorService checker;

  private AuditVerifier(List<Checkpoint> cps, Map<String, PublicKey> keys, Optional<PublicKey> trusted) {
    Optional<String> trustedId = trusted.map(k -> AuditChain.keyId(k.getEncoded()));
    for (Checkpoint c : cps) {
      PublicKey key = keys.get(c.keyId());
      if (trustedId.isPresent() && !trustedId.get().equals(c.keyId())) {
        fail(c.seq(), "checkpoint signed by key " + c.keyId() + ", not by the trusted key " + trustedId.get());
      } else if (key == null) {
        fail(c.seq(), "checkpoint signed by unknown key " + c.keyId());
      } else if (!signatureValid(key, c)) {
        fail(c.seq(), "checkpoint signature does not verify (forged or altered checkpoint)");
      }
      checkpoints.put(c.seq(), c);
    }
  }

  /**
   * A verifier for a log with these checkpoints. {@code keys} maps key ids to public keys;
   * {@code trusted}, when given, is the only key whose checkpoints are accepted.
   */
  public static AuditVerifier create(List<Checkpoint> checkpoints, Map<String, PublicKey> keys, Optional<PublicKey> trusted) {
    return new AuditVerifier(checkpoints, keys, trusted);
  }

  /** A key map holding one key. */
  public static Map<String, PublicKey> keys(PublicKey... keys) {
    Map<String, PublicKey> m = new HashMap<>();
    for (PublicKey k : keys) {
      m.put(AuditChain.keyId(k.getEncoded()), k);
    }
    return m;
  }

  /**
   * Takes the next entry (in sequence order); returns false once a problem was found, after which
   * later entries are not checked. Entries are checked in batches on a second thread, in order,
   * so that reading the next entries (database rows, JSON lines) overlaps with hashing these;
   * {@link #finish} waits for the last batch.
   */
  public boolean accept(AuditEntry e) {
    if (firstBad.isPresent()) {
      return false;
    }
    batch.add(e);
    if (batch.size() == BATCH) {
      submit();
    }
    return true;
  }

  private void submit() {
    if (batch.isEmpty()) {
      return;
    }
    if (checker == null) {
      checker = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "flightdeck-audit-verifier");
        t.setDaemon(true);
        return t;
      });
    }
    java.util.List<AuditEntry> work = batch;
    batch = new java.util.ArrayList<>(BATCH);
    inFlight.acquireUninterruptibly();
    checker.execute(() -> {
      try {
        for (AuditEntry e : work) {
          if (!check(e)) {
            break;
          }
        }
      } finally {
        inFlight.release();
      }
    });
  }

  private boolean check(AuditEntry e) {
    if (firstBad.isPresent()) {
      return false;
    }
    if (e.seq() != expectedSeq) {
      return fail(expectedSeq, e.seq() > expectedSeq
          ? "entry " + expectedSeq + (e.seq() - expectedSeq > 1 ? " to " + (e.seq() - 1) : "") + " missing (next entry is " + e.seq() + ")"
          : "entry " + e.seq() + " out of order or duplicated");
    }
    if (!e.prevHash().equals(lastHash)) {
      return fail(e.seq(), "does not link to entry " + (e.seq() - 1) + " (prevHash differs: spliced or reordered)");
    }
    String recomputed = AuditChain.hash(lastHash, e.seq(), e.time(), e.event());
    if (!recomputed.equals(e.hash())) {
      return fail(e.seq(), "content does not match its hash (the entry was altered)");
    }
    Checkpoint c = checkpoints.get(e.seq());
    if (c != null && !c.hash().equals(e.hash())) {
      return fail(e.seq(), "hash differs from the signed checkpoint (the chain was rewritten)");
    }
    lastHash = e.hash();
    expectedSeq++;
    verified++;
    return true;
  }

  /** The report after the last entry. */
  public VerifyReport finish() {
    submit();
    if (checker != null) {
      checker.shutdown();
      try {
        if (!checker.awaitTermination(1, java.util.concurrent.TimeUnit.HOURS)) {
          throw new IllegalStateException("audit verification did not finish within an hour");
        }
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while verifying the audit log", ie);
      }
    }
    if (firstBad.isEmpty() && !checkpoints.isEmpty() && checkpoints.lastKey() >= expectedSeq) {
      fail(expectedSeq, "log ends at entry " + (expectedSeq - 1) + " but a signed checkpoint covers entry "
          + checkpoints.lastKey() + " (entries were deleted from the end)");
    }
    return new VerifyReport(verified, checkpoints.size(), firstBad);
  }

  private synchronized boolean fail(long seq, String reason) {
    if (firstBad.isEmpty()) {
      firstBad = Optional.of(new VerifyReport.Finding(seq, reason));
    }
    return false;
  }

  private static boolean signatureValid(PublicKey key, Checkpoint c) {
    try {
      Signature s = Signature.getInstance("Ed25519");
      s.initVerify(key);
      s.update(AuditChain.checkpointMessage(c.seq(), c.hash(), c.time()));
      return s.verify(Base64.getDecoder().decode(c.signature()));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return false;
    }
  }
}

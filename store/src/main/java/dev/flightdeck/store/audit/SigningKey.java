package dev.flightdeck.store.audit;

import dev.flightdeck.api.audit.AuditChain;
import dev.flightdeck.store.StoreException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

/**
 * The Ed25519 key that signs audit checkpoints. Kept in a file of its own (mode 600) beside the
 * data, never in the database: whoever can rewrite the database still cannot sign.
 */
final class SigningKey {

  private final PrivateKey privateKey;
  private final PublicKey publicKey;
  private final String keyId;

  private SigningKey(PrivateKey privateKey, PublicKey publicKey) {
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.keyId = AuditChain.keyId(publicKey.getEncoded());
  }

  /** Loads the key from {@code file}, creating it on first use. */
  static SigningKey loadOrCreate(Path file) {
    try {
      if (Files.exists(file)) {
        String[] lines = Files.readString(file).strip().split("\n");
        KeyFactory kf = KeyFactory.getInstance("Ed25519");
        return new SigningKey(
            kf.generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(lines[0].strip()))),
            kf.generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(lines[1].strip()))));
      }
      KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
      dev.flightdeck.api.auth.SecretFile.write(file, Base64.getEncoder().encodeToString(pair.getPrivate().getEncoded())
          + "\n" + Base64.getEncoder().encodeToString(pair.getPublic().getEncoded()) + "\n");
      return new SigningKey(pair.getPrivate(), pair.getPublic());
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      throw new StoreException("cannot load or create the audit signing key " + file + ": " + e.getMessage()
          + ". It must be the file Flightdeck wrote (two base64 lines), readable by the server", e);
    }
  }

  /** A key that lives only in memory (for tests and tools that never restart). */
  static SigningKey ephemeral() {
    try {
      KeyPair pair = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
      return new SigningKey(pair.getPrivate(), pair.getPublic());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every Java 15+ runtime has Ed25519", e);
    }
  }

  String sign(byte[] message) {
    try {
      Signature s = Signature.getInstance("Ed25519");
      s.initSign(privateKey);
      s.update(message);
      return Base64.getEncoder().encodeToString(s.sign());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Ed25519 signing failed", e);
    }
  }

  PublicKey publicKey() {
    return publicKey;
  }

  String keyId() {
    return keyId;
  }
}

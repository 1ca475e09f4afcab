package dev.flightdeck.server;

import dev.flightdeck.store.Database;
import dev.flightdeck.store.audit.AuditLog;
import java.nio.file.Path;

/** Where the server keeps its audit signing key. */
final class AuditLogs {

  /** The key file's name in the data directory. */
  static final String KEY_FILE = "audit-signing.key";

  private AuditLogs() {}

  static AuditLog open(Database db, Path dataDir) {
    return AuditLog.open(db, dataDir.resolve(KEY_FILE));
  }
}

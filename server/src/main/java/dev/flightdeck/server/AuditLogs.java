package dev.flightdeck.server;

import dev.flightdeck.store.Database;
import dev.flightdeck.store.audit.AuditLog;
import io.javalin.config.RoutesConfig;
import java.nio.file.Path;

/** Opens the audit log and mounts its API (kept apart so the audit API can grow on its own). */
final class AuditLogs {

  private AuditLogs() {}

  static AuditLog open(Database db, Path dataDir) {
    return new AuditLog(db);
  }

  static void routes(RoutesConfig routes, AuditLog audit) {
  }
}

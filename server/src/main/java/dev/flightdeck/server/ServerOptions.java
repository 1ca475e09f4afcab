package dev.flightdeck.server;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * How to run the server.
 *
 * @param dataDir where the embedded SQLite database and the audit signing key live
 * @param databaseUrl a {@code jdbc:postgresql:} URL to use PostgreSQL instead of SQLite
 * @param host the address to listen on (loopback by default: expose it on purpose)
 * @param port the API port; 0 picks a free one
 */
public record ServerOptions(
    Path dataDir, Optional<String> databaseUrl, String host, int port) {

  /** The default API port. */
  public static final int DEFAULT_PORT = 7070;

  /** Checks the parts. */
  public ServerOptions {
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(databaseUrl, "databaseUrl");
    Objects.requireNonNull(host, "host");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port: expected 0..65535, got " + port);
    }
  }

  /** Defaults for tests and embedding: SQLite in {@code dataDir}, loopback, a free port. */
  public static ServerOptions embedded(Path dataDir) {
    return new ServerOptions(dataDir, Optional.empty(), "127.0.0.1", 0);
  }
}

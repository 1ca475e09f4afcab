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
 * @param gatewayPort the gateway's port, where agents are served; 0 picks a free one, -1 runs no gateway
 */
public record ServerOptions(
    Path dataDir, Optional<String> databaseUrl, String host, int port, int gatewayPort) {

  /** The default API port. */
  public static final int DEFAULT_PORT = 7070;

  /** The default gateway port. */
  public static final int DEFAULT_GATEWAY_PORT = 7080;

  /** Checks the parts. */
  public ServerOptions {
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(databaseUrl, "databaseUrl");
    Objects.requireNonNull(host, "host");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port: expected 0..65535, got " + port);
    }
    if (gatewayPort < -1 || gatewayPort > 65535) {
      throw new IllegalArgumentException("gatewayPort: expected -1 (no gateway) or 0..65535, got " + gatewayPort);
    }
  }

  /** Defaults for tests and embedding: SQLite in {@code dataDir}, loopback, free ports. */
  public static ServerOptions embedded(Path dataDir) {
    return new ServerOptions(dataDir, Optional.empty(), "127.0.0.1", 0, 0);
  }
}

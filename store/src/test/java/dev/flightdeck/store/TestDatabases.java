package dev.flightdeck.store;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.UUID;

/**
 * Real databases for tests. PostgreSQL: the server named by {@code FLIGHTDECK_TEST_PG_URL}
 * (default {@code jdbc:postgresql://127.0.0.1:5432/test?user=postgres}, as CI runs it); when none
 * answers, a real embedded PostgreSQL from the zonky binaries jar. Each call gets a fresh schema.
 * Set {@code FLIGHTDECK_TEST_PG=server} to fail instead of falling back (CI does).
 */
public final class TestDatabases {

  private static final String DEFAULT_URL = "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
  private static String baseUrl;
  private static EmbeddedPostgres embedded;

  private TestDatabases() {}

  /** A fresh SQLite database in {@code dir}. */
  public static Database sqlite(Path dir) {
    return Database.sqlite(dir);
  }

  /** A fresh PostgreSQL schema, migrated, on the test server. */
  public static Database postgres() {
    return Database.postgres(freshPostgresUrl());
  }

  /** A JDBC URL of a fresh, empty schema on the test PostgreSQL server. */
  public static synchronized String freshPostgresUrl() {
    String base = base();
    String schema = "t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    try (Connection c = DriverManager.getConnection(base)) {
      c.createStatement().execute("CREATE SCHEMA " + schema);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create a test schema on " + base + ": " + e.getMessage(), e);
    }
    return base + (base.contains("?") ? "&" : "?") + "currentSchema=" + schema;
  }

  /** A database of either dialect, for contract tests that run on both. */
  public static Database of(Dialect dialect, Path dir) {
    return dialect == Dialect.SQLITE ? sqlite(dir) : postgres();
  }

  private static String base() {
    if (baseUrl != null) {
      return baseUrl;
    }
    String url = System.getenv().getOrDefault("FLIGHTDECK_TEST_PG_URL", DEFAULT_URL);
    try (Connection c = DriverManager.getConnection(url)) {
      c.isValid(2);
      baseUrl = url;
      return baseUrl;
    } catch (SQLException e) {
      if ("server".equals(System.getenv("FLIGHTDECK_TEST_PG"))) {
        throw new IllegalStateException("FLIGHTDECK_TEST_PG=server but PostgreSQL at " + url
            + " does not answer: " + e.getMessage(), e);
      }
      System.err.println("[TestDatabases] no PostgreSQL at " + url + " (" + e.getMessage()
          + "); starting an embedded PostgreSQL");
    }
    try {
      embedded = EmbeddedPostgres.builder().start();
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          embedded.close();
        } catch (java.io.IOException ignored) {
          // the process is exiting
        }
      }));
      baseUrl = embedded.getJdbcUrl("postgres", "postgres");
      return baseUrl;
    } catch (java.io.IOException e) {
      throw new IllegalStateException("cannot start an embedded PostgreSQL: " + e.getMessage(), e);
    }
  }
}

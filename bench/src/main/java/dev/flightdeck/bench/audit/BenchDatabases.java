package dev.flightdeck.bench.audit;

import dev.flightdeck.store.Database;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.UUID;

/** Fresh databases for benchmarks: SQLite in a temp folder, or a fresh schema on PostgreSQL. */
final class BenchDatabases {

  static final String PG_URL = System.getenv().getOrDefault("FLIGHTDECK_BENCH_PG_URL",
      "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");

  private BenchDatabases() {}

  static Database open(String dialect, Path dir) throws Exception {
    if (dialect.equals("sqlite")) {
      return Database.sqlite(dir);
    }
    String schema = "bench_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection c = DriverManager.getConnection(PG_URL)) {
      c.createStatement().execute("CREATE SCHEMA " + schema);
    }
    return Database.postgres(PG_URL + (PG_URL.contains("?") ? "&" : "?") + "currentSchema=" + schema);
  }

  static Path tempDir() throws Exception {
    return Files.createTempDirectory("fd-bench");
  }
}

package dev.flightdeck.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Locale;
import java.util.function.BiConsumer;
import org.flywaydb.core.Flyway;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * The SQL database behind the store: SQLite in a file (the embedded default) or PostgreSQL.
 * Opening it applies the schema migrations, so both dialects always run the same schema.
 *
 * <p>SQLite runs in WAL mode with immediate transactions: a killed process leaves either the old
 * or the new state of every transaction, and writers queue instead of failing to upgrade a lock.
 */
public final class Database implements AutoCloseable {

  private static final System.Logger LOG = System.getLogger(Database.class.getName());

  /** Work done inside a transaction. */
  @FunctionalInterface
  public interface TxWork<T> {
    /** Runs in the transaction; throw to roll it back. */
    T run(Tx tx) throws SQLException;
  }

  private final HikariDataSource pool;
  private final Dialect dialect;
  private final String description;
  private volatile BiConsumer<String, Long> timings = (op, nanos) -> { };

  private Database(HikariDataSource pool, Dialect dialect, String description) {
    this.pool = pool;
    this.dialect = dialect;
    this.description = description;
  }

  /** Opens (creating when missing) {@code flightdeck.db} in the data directory and migrates it. */
  public static Database sqlite(Path dataDir) {
    try {
      Files.createDirectories(dataDir);
    } catch (java.io.IOException e) {
      throw new StoreException("cannot create the data directory " + dataDir + ": " + e.getMessage(), e);
    }
    Path file = dataDir.resolve("flightdeck.db").toAbsolutePath();
    SQLiteConfig config = new SQLiteConfig();
    config.setJournalMode(SQLiteConfig.JournalMode.WAL);
    config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
    config.setBusyTimeout(30_000);
    config.enforceForeignKeys(true);
    config.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
    SQLiteDataSource ds = new SQLiteDataSource(config);
    ds.setUrl("jdbc:sqlite:" + file);
    HikariConfig hc = new HikariConfig();
    hc.setDataSource(ds);
    hc.setPoolName("flightdeck-sqlite");
    hc.setMaximumPoolSize(4);
    hc.setAutoCommit(true);
    return open(new HikariDataSource(hc), Dialect.SQLITE, "SQLite " + file);
  }

  /**
   * Connects to PostgreSQL ({@code jdbc:postgresql://host:port/db?user=..}) and migrates it.
   * Use {@code currentSchema=NAME} in the URL to keep Flightdeck in a schema of its own.
   */
  public static Database postgres(String jdbcUrl) {
    if (!jdbcUrl.toLowerCase(Locale.ROOT).startsWith("jdbc:postgresql:")) {
      throw new IllegalArgumentException("expected a jdbc:postgresql:// URL, got " + redact(jdbcUrl));
    }
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(jdbcUrl);
    hc.setPoolName("flightdeck-postgres");
    hc.setMaximumPoolSize(16);
    hc.setAutoCommit(true);
    hc.setConnectionTimeout(10_000);
    hc.setInitializationFailTimeout(10_000);
    try {
      return open(new HikariDataSource(hc), Dialect.POSTGRES, "PostgreSQL " + redact(jdbcUrl));
    } catch (RuntimeException e) {
      throw new StoreException("cannot connect to PostgreSQL at " + redact(jdbcUrl) + ": "
          + rootMessage(e) + ". Check that the server runs and the URL, user and database are right.", e);
    }
  }

  /** Opens the database a URL names: a {@code jdbc:postgresql:} URL, or SQLite in {@code dataDir}. */
  public static Database open(java.util.Optional<String> jdbcUrl, Path dataDir) {
    return jdbcUrl.map(Database::postgres).orElseGet(() -> sqlite(dataDir));
  }

  private static Database open(HikariDataSource pool, Dialect dialect, String description) {
    try {
      Flyway.configure()
          .dataSource(pool)
          .locations("classpath:db/migration")
          .loggers("slf4j")
          .load()
          .migrate();
    } catch (RuntimeException e) {
      pool.close();
      throw e;
    }
    LOG.log(System.Logger.Level.INFO, "store: {0}", description);
    return new Database(pool, dialect, description);
  }

  /** Which database this is. */
  public Dialect dialect() {
    return dialect;
  }

  /** "SQLite /path/flightdeck.db" or "PostgreSQL jdbc:..." without credentials. */
  public String description() {
    return description;
  }

  /** Reports the duration of each named store operation (for metrics). */
  public void onTiming(BiConsumer<String, Long> observer) {
    this.timings = observer;
  }

  /** Runs {@code work} in one transaction: committed when it returns, rolled back when it throws. */
  public <T> T inTransaction(String operation, TxWork<T> work) {
    long start = System.nanoTime();
    try (Connection c = pool.getConnection()) {
      c.setAutoCommit(false);
      try {
        T result = work.run(new Tx(c, dialect));
        c.commit();
        return result;
      } catch (SQLException | RuntimeException | Error e) {
        rollbackQuietly(c, e);
        if (e instanceof SQLException sql) {
          throw new StoreException(operation + " failed in " + description + ": " + sql.getMessage(), sql);
        }
        throw e;
      } finally {
        c.setAutoCommit(true);
      }
    } catch (SQLException e) {
      throw new StoreException("cannot get a connection to " + description + ": " + e.getMessage(), e);
    } finally {
      timings.accept(operation, System.nanoTime() - start);
    }
  }

  /** Runs read-only {@code work} on a connection in autocommit mode. */
  public <T> T read(String operation, TxWork<T> work) {
    return autocommit(operation, work);
  }

  /**
   * Runs {@code work} on a connection in autocommit mode: each statement commits on its own. For
   * writes that are one statement (or whose statements need no common transaction), without the
   * round trips of BEGIN and COMMIT.
   */
  public <T> T autocommit(String operation, TxWork<T> work) {
    long start = System.nanoTime();
    try (Connection c = pool.getConnection()) {
      return work.run(new Tx(c, dialect));
    } catch (SQLException e) {
      throw new StoreException(operation + " failed in " + description + ": " + e.getMessage(), e);
    } finally {
      timings.accept(operation, System.nanoTime() - start);
    }
  }

  /** Whether the database answers a trivial query (for /readyz). */
  public boolean isReachable() {
    try (Connection c = pool.getConnection()) {
      return c.isValid(2);
    } catch (SQLException e) {
      return false;
    }
  }

  @Override
  public void close() {
    pool.close();
  }

  private static void rollbackQuietly(Connection c, Throwable cause) {
    try {
      c.rollback();
    } catch (SQLException e) {
      cause.addSuppressed(e);
    }
  }

  /** A JDBC URL with any password removed, safe to log. */
  public static String redact(String url) {
    return url.replaceAll("(?i)(password=)[^&;]*", "$1***").replaceAll("//([^:/@]+):[^@/]*@", "//$1:***@");
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage();
  }
}

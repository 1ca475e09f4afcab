package dev.flightdeck.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class DatabaseIT {

  @TempDir Path dir;

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void migratesAndAnswers(Dialect dialect) {
    try (Database db = TestDatabases.of(dialect, dir)) {
      assertThat(db.isReachable()).isTrue();
      long rev = db.read("read revision", tx -> {
        try (var rs = tx.connection().createStatement()
            .executeQuery("SELECT value FROM fd_counter WHERE name = 'revision'")) {
          rs.next();
          return rs.getLong(1);
        }
      });
      assertThat(rev).isZero();
    }
  }
}

package dev.flightdeck.store.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flightdeck.store.Database;
import dev.flightdeck.store.Dialect;
import dev.flightdeck.store.TestDatabases;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Session pins on both dialects: the first pin wins, a migration wins over a late first pin. */
class SessionPinStoreIT {

  @TempDir Path dir;

  private static SessionPin pin(String session, String version, long at) {
    return new SessionPin("triage", session, version, at, at + 60_000);
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void theFirstPinWinsAndExpiredPinsAreGone(Dialect dialect) {
    try (Database db = TestDatabases.of(dialect, dir)) {
      SessionPinStore pins = new SessionPinStore(db);
      assertThat(pins.insert(List.of(pin("s1", "v1", 1000)), 1000)).isEmpty(); // nothing lost
      // Another replica pinned s1 to another version first: the stored pin comes back, s2 is new.
      assertThat(pins.insert(List.of(pin("s1", "v2", 1001), pin("s2", "v2", 1001)), 1001))
          .extracting(SessionPin::sessionId, SessionPin::version)
          .containsExactly(org.assertj.core.groups.Tuple.tuple("s1", "v1"));
      assertThat(pins.find("triage", "s2", 2000)).map(SessionPin::version).contains("v2");
      assertThat(pins.find("triage", "s1", 2000)).map(SessionPin::version).contains("v1");
      assertThat(pins.find("triage", "s1", 1000 + 60_001)).isEmpty();
      assertThat(pins.deleteExpired(1001 + 60_001)).isEqualTo(2);
    }
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void aMigrationWinsOverTheOldPinWhetherOrNotItWasWrittenYet(Dialect dialect) {
    try (Database db = TestDatabases.of(dialect, dir)) {
      SessionPinStore pins = new SessionPinStore(db);
      pins.insert(List.of(pin("written", "v1", 1000)), 1000);
      pins.migrate(List.of(pin("written", "v3", 2000), pin("late", "v3", 2000)), "v1");
      assertThat(pins.find("triage", "written", 2500)).map(SessionPin::version).contains("v3");
      assertThat(pins.find("triage", "late", 2500)).map(SessionPin::version).contains("v3");
      // The old pin of "late" arrives after the move (written in a batch): the move stays.
      assertThat(pins.insert(List.of(pin("late", "v1", 1000)), 2600)).extracting(SessionPin::version).containsExactly("v3");
      assertThat(pins.find("triage", "late", 2700)).map(SessionPin::version).contains("v3");
      // A migration from a version the session is not on changes nothing.
      pins.migrate(List.of(pin("written", "v4", 3000)), "v1");
      assertThat(pins.find("triage", "written", 3100)).map(SessionPin::version).contains("v3");
    }
  }
}

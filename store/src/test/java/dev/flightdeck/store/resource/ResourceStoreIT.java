package dev.flightdeck.store.resource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flightdeck.api.ConflictException;
import dev.flightdeck.api.InvalidResourceException;
import dev.flightdeck.api.NotFoundException;
import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.auth.Role;
import dev.flightdeck.api.parse.ParsedResource;
import dev.flightdeck.api.parse.ResourceReader;
import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.api.resource.LabelSelector;
import dev.flightdeck.api.resource.Resource;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.Dialect;
import dev.flightdeck.store.TestDatabases;
import dev.flightdeck.store.audit.AuditLog;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The store's guarantees, on SQLite and on PostgreSQL alike. */
class ResourceStoreIT {

  private static final ResourceReader READER = new ResourceReader();
  private static final Principal ALICE = new Principal("token:alice", Role.OPERATOR);

  @TempDir Path dir;
  private Database db;
  private AuditLog audit;
  private ResourceStore store;

  private void open(Dialect dialect) {
    db = TestDatabases.of(dialect, dir);
    audit = new AuditLog(db);
    store = new ResourceStore(db, audit, Clock.systemUTC());
  }

  @AfterEach
  void close() {
    if (audit != null) {
      audit.close();
    }
    if (db != null) {
      db.close();
    }
  }

  private static List<ParsedResource> yaml(String text) {
    return READER.read(ResourceReader.Source.of("test.yaml", text));
  }

  private static String agent(String name, String routes) {
    return "apiVersion: flightdeck.dev/v1alpha1\nkind: Agent\nmetadata:\n  name: " + name
        + "\n  labels: {team: support}\nspec:\n  routes: " + routes + "\n";
  }

  private static String version(String name, String agent, String model) {
    return "apiVersion: flightdeck.dev/v1alpha1\nkind: AgentVersion\nmetadata: {name: " + name + "}\nspec:\n"
        + "  agent: " + agent + "\n  endpoints: [{url: \"http://127.0.0.1:9101\"}]\n  models: [{id: " + model + "}]\n";
  }

  private static final String BASE = agent("a", "[{version: a-v1, weight: 100}]") + "---\n"
      + version("a-v1", "a", "gpt-4o-2024-08-06");

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void createsThenReportsUnchanged_thenUpdatesWithNewVersionAndKeepsHistory(Dialect d) {
    open(d);
    List<ApplyResult> first = store.apply(yaml(BASE), ALICE, false);
    assertThat(first).extracting(ApplyResult::change).containsExactly(ApplyResult.Change.CREATED, ApplyResult.Change.CREATED);
    assertThat(store.apply(yaml(BASE), ALICE, false)).extracting(ApplyResult::change)
        .containsOnly(ApplyResult.Change.UNCHANGED);

    Resource before = store.get(Kind.AGENT, "a").orElseThrow();
    store.apply(yaml(agent("a", "[{version: a-v1, weight: 100}]").replace("team: support", "team: billing")), ALICE, false);
    Resource after = store.get(Kind.AGENT, "a").orElseThrow();
    assertThat(after.metadata().resourceVersion()).isGreaterThan(before.metadata().resourceVersion());
    assertThat(after.metadata().uid()).isEqualTo(before.metadata().uid());
    assertThat(after.metadata().labels()).containsEntry("team", "billing");

    List<ResourceEvent> history = store.history(Kind.AGENT, "a");
    assertThat(history).extracting(ResourceEvent::operation).containsExactly(Operation.CREATED, Operation.UPDATED);
    assertThat(history.get(0).resource().metadata().labels()).containsEntry("team", "support");
    assertThat(history).extracting(ResourceEvent::principal).containsOnly("token:alice");
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void staleResourceVersionFailsWithConflictAndNeverOverwrites(Dialect d) {
    open(d);
    store.apply(yaml(BASE), ALICE, false);
    long rv = store.get(Kind.AGENT, "a").orElseThrow().metadata().resourceVersion();
    String withRv = agent("a", "[{version: a-v1, weight: 100}]").replace("name: a", "name: a\n  resourceVersion: \"" + rv + "\"");
    store.apply(yaml(withRv.replace("team: support", "team: one")), ALICE, false);
    assertThatThrownBy(() -> store.apply(yaml(withRv.replace("team: support", "team: two")), ALICE, false))
        .isInstanceOf(ConflictException.class)
        .hasMessageContaining("agent/a was changed since you read it: you sent resourceVersion " + rv);
    assertThat(store.get(Kind.AGENT, "a").orElseThrow().metadata().labels()).containsEntry("team", "one");
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void concurrentUpdatesFromTheSameVersion_exactlyOneWins(Dialect d) throws Exception {
    open(d);
    store.apply(yaml(BASE), ALICE, false);
    long rv = store.get(Kind.AGENT, "a").orElseThrow().metadata().resourceVersion();
    int writers = 8;
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Boolean>> outcomes = new ArrayList<>();
    for (int i = 0; i < writers; i++) {
      String doc = agent("a", "[{version: a-v1, weight: 100}]")
          .replace("name: a", "name: a\n  resourceVersion: \"" + rv + "\"").replace("team: support", "team: w" + i);
      outcomes.add(pool.submit(() -> {
        start.await();
        try {
          store.apply(yaml(doc), ALICE, false);
          return true;
        } catch (ConflictException e) {
          return false;
        }
      }));
    }
    start.countDown();
    int wins = 0;
    for (Future<Boolean> f : outcomes) {
      wins += f.get() ? 1 : 0;
    }
    pool.shutdown();
    assertThat(wins).isEqualTo(1);
    assertThat(store.history(Kind.AGENT, "a")).hasSize(2);
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void agentVersionSpecIsImmutable_butLabelsMayChange(Dialect d) {
    open(d);
    store.apply(yaml(BASE), ALICE, false);
    assertThatThrownBy(() -> store.apply(yaml(version("a-v1", "a", "gpt-4o-2024-11-20")), ALICE, false))
        .isInstanceOf(ConflictException.class)
        .hasMessageContaining("agentversion/a-v1 is immutable: its spec differs from the one applied at resourceVersion")
        .hasMessageContaining("new AgentVersion");
    String relabelled = version("a-v1", "a", "gpt-4o-2024-08-06").replace("{name: a-v1}", "{name: a-v1, labels: {stage: prod}}");
    assertThat(store.apply(yaml(relabelled), ALICE, false)).extracting(ApplyResult::change)
        .containsExactly(ApplyResult.Change.UPDATED);
    Resource v = store.get(Kind.AGENT_VERSION, "a-v1").orElseThrow();
    assertThat(v.status().path("digest").asText()).startsWith("sha256:").isEqualTo(v.specDigest());
    assertThat(v.status().path("pinnedModels").get(0).asText()).isEqualTo("openai/gpt-4o-2024-08-06");
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void missingReferencesAreNamedWithPositions_andNothingOfTheBatchIsStored(Dialect d) {
    open(d);
    String batch = agent("a", "[{version: a-v9, weight: 100}]") + "---\n" + version("b-v1", "b", "m-2024");
    assertThatThrownBy(() -> store.apply(yaml(batch), ALICE, false))
        .isInstanceOfSatisfying(InvalidResourceException.class, e -> assertThat(e.diagnostics())
            .extracting(Object::toString).containsExactly(
                "test.yaml:7:22: spec.routes[0].version: agentversion/a-v9 does not exist; apply it first or in the same batch",
                "test.yaml:13:10: spec.agent: agent/b does not exist; apply it first or in the same batch"));
    assertThat(store.list(Kind.AGENT, LabelSelector.everything())).isEmpty();
    assertThat(store.revision()).isZero();
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void deleteRefusesWhileReferenced_thenKeepsHistoryAfterDeleting(Dialect d) {
    open(d);
    store.apply(yaml(BASE), ALICE, false);
    assertThatThrownBy(() -> store.delete(Kind.AGENT_VERSION, "a-v1", 0, ALICE))
        .isInstanceOf(ConflictException.class).hasMessageContaining("still referred to by agent/a");
    store.apply(yaml(agent("a", "[]")), ALICE, false);
    store.delete(Kind.AGENT_VERSION, "a-v1", 0, ALICE);
    assertThat(store.get(Kind.AGENT_VERSION, "a-v1")).isEmpty();
    assertThat(store.history(Kind.AGENT_VERSION, "a-v1")).extracting(ResourceEvent::operation)
        .containsExactly(Operation.CREATED, Operation.DELETED);
    assertThatThrownBy(() -> store.delete(Kind.AGENT_VERSION, "a-v1", 0, ALICE)).isInstanceOf(NotFoundException.class);
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void dryRunValidatesEverythingAndStoresNothing(Dialect d) {
    open(d);
    List<ApplyResult> r = store.apply(yaml(BASE), ALICE, true);
    assertThat(r).extracting(ApplyResult::change).containsOnly(ApplyResult.Change.CREATED);
    assertThat(store.get(Kind.AGENT, "a")).isEmpty();
    assertThat(store.revision()).isZero();
  }

  @ParameterizedTest
  @EnumSource(Dialect.class)
  void listsByLabelSelectorAndFeedsChangesInOrder(Dialect d) {
    open(d);
    store.apply(yaml(BASE + "---\n" + agent("b", "[]").replace("team: support", "team: billing")), ALICE, false);
    assertThat(store.list(Kind.AGENT, LabelSelector.parse("team=billing"))).extracting(Resource::name).containsExactly("b");
    assertThat(store.list(Kind.AGENT, LabelSelector.parse("team in (support,billing)"))).hasSize(2);
    assertThat(store.list(Kind.AGENT, LabelSelector.parse("!team"))).isEmpty();
    List<ResourceEvent> all = store.changesSince(0, Optional.empty(), 100);
    assertThat(all).extracting(ResourceEvent::revision).containsExactly(1L, 2L, 3L);
    assertThat(store.changesSince(1, Optional.of(Kind.AGENT), 100)).extracting(e -> e.resource().name()).containsExactly("b");
  }
}

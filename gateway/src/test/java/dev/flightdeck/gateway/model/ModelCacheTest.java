package dev.flightdeck.gateway.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.embeddings.MiniLm;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** The response cache: keys, exact and semantic hits with the real MiniLM model, bounds. */
class ModelCacheTest {

  private static final Embedder MINILM = text -> MiniLm.shared().embed(text);
  private static final CacheSettings EXACT = CacheSettings.of(true, false);
  private static final CacheSettings BOTH = CacheSettings.of(true, true);
  private static final String SUPPORT = "You are the support assistant of ACME Cloud. Answer briefly.";

  /** A clock the test moves. */
  static final class MutableClock extends Clock {
    private final AtomicLong millis = new AtomicLong(1_700_000_000_000L);

    void advance(Duration d) {
      millis.addAndGet(d.toMillis());
    }

    @Override
    public long millis() {
      return millis.get();
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis());
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  private final MutableClock clock = new MutableClock();

  private static ObjectNode json(String text) {
    return (ObjectNode) Json.read(text);
  }

  /** A chat request: the system prompt, then alternating user and assistant turns ending with a user's. */
  private static ObjectNode chat(String system, String... turns) {
    ObjectNode r = Json.object();
    r.put("model", "gpt-4o-mini");
    r.put("temperature", 0);
    ArrayNode messages = r.putArray("messages");
    messages.addObject().put("role", "system").put("content", system);
    for (int i = 0; i < turns.length; i++) {
      messages.addObject().put("role", i % 2 == 0 ? "user" : "assistant").put("content", turns[i]);
    }
    return r;
  }

  private static ObjectNode ask(String question) {
    return chat(SUPPORT, question);
  }

  private static ObjectNode with(ObjectNode r, Consumer<ObjectNode> change) {
    ObjectNode copy = r.deepCopy();
    change.accept(copy);
    return copy;
  }

  private static ModelCache.Key key(String agent, CacheSettings s, ObjectNode request) {
    return ModelCache.key(agent, s, request).orElseThrow();
  }

  private static ModelCache.Entry answer(String text) {
    return answer(text, 100);
  }

  private static ModelCache.Entry answer(String text, int size) {
    StringBuilder body = new StringBuilder("{\"choices\":[{\"message\":{\"content\":\"" + text + "\"}}]}");
    while (body.length() < size) {
      body.append(' ');
    }
    return new ModelCache.Entry(body.toString().getBytes(StandardCharsets.UTF_8), 20, 5, "gpt-4o-mini");
  }

  private static String text(ModelCache.Hit hit) {
    return new String(hit.entry().body(), StandardCharsets.UTF_8).strip();
  }

  // ---- exact keys ----

  @Test
  void exactHit_regardlessOfJsonKeyOrderAndNumberSpelling() {
    ObjectNode a = json("""
        {"model":"gpt-4o-mini","temperature":0,"max_tokens":100,
         "messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Where is my order?"}],
         "tools":[{"type":"function","function":{"name":"track","parameters":{"type":"object","properties":{"id":{"type":"string"}}}}}]}""");
    ObjectNode b = json("""
        {"tools":[{"function":{"parameters":{"properties":{"id":{"type":"string"}},"type":"object"},"name":"track"},"type":"function"}],
         "messages":[{"content":"Be brief.","role":"system"},{"content":"Where is my order?","role":"user"}],
         "max_tokens":100.0,"temperature":0.0,"model":"gpt-4o-mini"}""");
    ModelCache cache = new ModelCache(null, 1 << 20, clock);

    cache.store(key("support", EXACT, a), EXACT, answer("It ships today."));
    Optional<ModelCache.Hit> hit = cache.lookup(key("support", EXACT, b), EXACT);

    assertThat(key("support", EXACT, b)).isEqualTo(key("support", EXACT, a));
    assertThat(hit).get().satisfies(h -> {
      assertThat(h.semantic()).isFalse();
      assertThat(h.similarity()).isEqualTo(1.0);
      assertThat(text(h)).contains("It ships today.");
    });
    assertThat(cache.stats()).extracting(ModelCache.Stats::exactHits, ModelCache.Stats::misses,
        ModelCache.Stats::stores, ModelCache.Stats::savedTokens).containsExactly(1L, 0L, 1L, 25L);
  }

  @Test
  void miss_whenModelParametersToolsSystemPromptOrTenantDiffer() {
    ObjectNode base = with(ask("How do I reset my password?"), r -> {
      r.putArray("tools").addObject().put("type", "function").putObject("function").put("name", "lookup_user");
      r.put("tool_choice", "auto");
    });
    ModelCache cache = new ModelCache(MINILM, 1 << 20, clock);
    cache.store(key("support", BOTH, base), BOTH, answer("Use the reset link."));
    assertThat(cache.lookup(key("support", BOTH, base), BOTH)).isPresent();

    List<ObjectNode> variants = List.of(
        with(base, r -> r.put("model", "gpt-4o")),
        with(base, r -> r.put("temperature", 0.7)),
        with(base, r -> r.put("top_p", 0.5)),
        with(base, r -> r.put("max_tokens", 50)),
        with(base, r -> r.put("seed", 7)),
        with(base, r -> r.putArray("stop").add("\n")),
        with(base, r -> r.putObject("response_format").put("type", "json_object")),
        with(base, r -> r.put("tool_choice", "none")),
        with(base, r -> r.put("parallel_tool_calls", false)),
        with(base, r -> ((ObjectNode) r.get("tools").get(0).get("function")).put("name", "reset_password")),
        with(base, r -> r.remove("tools")),
        with(base, r -> ((ObjectNode) r.get("messages").get(0)).put("content", "You are a pirate. Answer briefly.")));
    for (ObjectNode v : variants) {
      assertThat(cache.lookup(key("support", BOTH, v), BOTH)).as(Json.write(v)).isEmpty();
    }
    assertThat(cache.lookup(key("billing", BOTH, base), BOTH)).as("another agent").isEmpty();
    assertThat(cache.stats().misses()).isEqualTo(variants.size() + 1);
  }

  @Test
  void fieldsThatCannotChangeTheAnswer_areLeftOutOfTheKey() {
    ObjectNode base = ask("Where is my order?");
    ObjectNode decorated = with(base, r -> {
      r.put("stream", true);
      r.putObject("stream_options").put("include_usage", true);
      r.put("user", "end-user-42");
      r.putObject("metadata").put("trace", "abc");
      r.put("store", false);
    });
    assertThat(key("support", EXACT, decorated)).isEqualTo(key("support", EXACT, base));
  }

  @Test
  void notCached_whenSeveralSamplesOrUpstreamStorageAreAskedForOrCachingIsOff() {
    ObjectNode base = ask("Where is my order?");
    assertThat(ModelCache.key("support", EXACT, with(base, r -> r.put("n", 3)))).isEmpty();
    assertThat(ModelCache.key("support", EXACT, with(base, r -> r.put("store", true)))).isEmpty();
    assertThat(ModelCache.key("support", CacheSettings.of(false, false), base)).isEmpty();
    assertThat(ModelCache.key("support", EXACT, with(base, r -> r.remove("messages")))).isEmpty();
    assertThat(ModelCache.key("support", EXACT, with(base, r -> r.remove("model")))).isEmpty();
    assertThat(ModelCache.key("support", EXACT, with(base, r -> r.put("n", 1)))).isPresent();
    assertThat(ModelCache.key("support", EXACT, with(base, r -> r.put("temperature", 1.2)))).isPresent();
  }

  @Test
  void theLastUserTextIsWhatSemanticLookupsCompare() {
    ModelCache.Key plain = key("support", BOTH, ask("Where is my order?"));
    ModelCache.Key parts = key("support", BOTH, json("""
        {"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"system","content":"%s"},
         {"role":"user","content":[{"type":"text","text":"Where is my order?"}]}]}""".formatted(SUPPORT)));
    ModelCache.Key image = key("support", BOTH, json("""
        {"model":"gpt-4o-mini","temperature":0,"messages":[{"role":"system","content":"%s"},
         {"role":"user","content":[{"type":"text","text":"Where is my order?"},
                                   {"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}""".formatted(SUPPORT)));
    ModelCache.Key afterTool = key("support", BOTH, with(ask("Where is my order?"), r ->
        ((ArrayNode) r.get("messages")).addObject().put("role", "tool").put("tool_call_id", "c1").put("content", "shipped")));

    assertThat(plain.tenant()).isEqualTo("agent:support");
    assertThat(plain.lastUserText()).isEqualTo("Where is my order?");
    assertThat(parts.lastUserText()).isEqualTo("Where is my order?");
    assertThat(parts.partition()).isEqualTo(plain.partition());
    assertThat(parts.exact()).isNotEqualTo(plain.exact());
    assertThat(plain.partition()).isEqualTo(key("support", BOTH, ask("Where's my parcel?")).partition());
    assertThat(image.lastUserText()).isEmpty();
    assertThat(afterTool.lastUserText()).isEmpty();
    assertThat(key("support", BOTH.sharedWith("helpdesk"), ask("x")).tenant()).isEqualTo("group:helpdesk");
  }

  @Test
  void agentsDoNotShareEntries_unlessTheyNameTheSameShareGroup() {
    ModelCache cache = new ModelCache(MINILM, 1 << 20, clock);
    ObjectNode q = ask("Where is my order?");
    cache.store(key("alice", BOTH, q), BOTH, answer("Alice's answer"));
    assertThat(cache.lookup(key("bob", BOTH, q), BOTH)).isEmpty();
    assertThat(cache.lookup(key("bob", BOTH, ask("Where's my order?")), BOTH)).isEmpty();

    CacheSettings team = BOTH.sharedWith("support-team");
    CacheSettings otherTeam = BOTH.sharedWith("sales-team");
    cache.store(key("alice", team, q), team, answer("Team answer"));
    assertThat(cache.lookup(key("bob", team, q), team)).get().extracting(ModelCacheTest::text).asString()
        .contains("Team answer");
    assertThat(cache.lookup(key("bob", otherTeam, q), otherTeam)).isEmpty();
    assertThat(cache.lookup(key("alice", BOTH, q), BOTH)).get().extracting(ModelCacheTest::text).asString()
        .contains("Alice's answer");
    // A group named like an agent's private tenant does not reach that agent's entries.
    CacheSettings impostor = BOTH.sharedWith("agent:alice");
    assertThat(cache.lookup(key("mallory", impostor, q), impostor)).isEmpty();
  }

  @Test
  void entriesExpire_afterTheWritersOrTheReadersTtl() {
    ModelCache cache = new ModelCache(MINILM, 1 << 20, clock);
    CacheSettings tenMinutes = new CacheSettings(true, true, 0.95, Duration.ofMinutes(10), 100, null);
    CacheSettings oneMinute = new CacheSettings(true, true, 0.95, Duration.ofMinutes(1), 100, null);
    ObjectNode q = ask("How do I reset my password?");
    ObjectNode paraphrase = ask("How can I reset my password?");
    cache.store(key("a", tenMinutes, q), tenMinutes, answer("reset link"));

    clock.advance(Duration.ofMinutes(9));
    assertThat(cache.lookup(key("a", tenMinutes, q), tenMinutes)).isPresent();
    assertThat(cache.lookup(key("a", tenMinutes, paraphrase), tenMinutes)).isPresent();
    assertThat(cache.lookup(key("a", oneMinute, q), oneMinute)).as("older than the reader's ttl").isEmpty();
    assertThat(cache.lookup(key("a", oneMinute, paraphrase), oneMinute)).isEmpty();

    clock.advance(Duration.ofMinutes(1));
    assertThat(cache.lookup(key("a", tenMinutes, q), tenMinutes)).isEmpty();
    assertThat(cache.lookup(key("a", tenMinutes, paraphrase), tenMinutes)).isEmpty();
    assertThat(cache.stats().entries()).isZero();
  }

  @Test
  void evictsTheLeastRecentlyUsed_beyondMaxEntriesPerTenant() {
    ModelCache cache = new ModelCache(null, 1 << 20, clock);
    CacheSettings three = new CacheSettings(true, false, 0.95, Duration.ofHours(1), 3, null);
    for (int i = 1; i <= 3; i++) {
      cache.store(key("a", three, ask("question " + i)), three, answer("answer " + i));
    }
    cache.store(key("b", three, ask("question 1")), three, answer("b's answer"));
    assertThat(cache.lookup(key("a", three, ask("question 1")), three)).isPresent(); // 2 is now the oldest

    cache.store(key("a", three, ask("question 4")), three, answer("answer 4"));

    assertThat(cache.lookup(key("a", three, ask("question 2")), three)).isEmpty();
    for (int i : new int[] {1, 3, 4}) {
      assertThat(cache.lookup(key("a", three, ask("question " + i)), three)).as("question " + i).isPresent();
    }
    assertThat(cache.lookup(key("b", three, ask("question 1")), three)).as("another tenant").isPresent();
    assertThat(cache.stats()).extracting(ModelCache.Stats::entries, ModelCache.Stats::evictions)
        .containsExactly(4L, 1L);
  }

  @Test
  void evictsTheLeastRecentlyUsed_beyondMaxBytesOverall() {
    ModelCache cache = new ModelCache(null, 1_000, clock);
    cache.store(key("a", EXACT, ask("q1")), EXACT, answer("a1", 300));
    cache.store(key("b", EXACT, ask("q2")), EXACT, answer("b2", 300));
    cache.store(key("a", EXACT, ask("q3")), EXACT, answer("a3", 300));
    assertThat(cache.lookup(key("a", EXACT, ask("q1")), EXACT)).isPresent();

    cache.store(key("c", EXACT, ask("q4")), EXACT, answer("c4", 300));
    cache.store(key("c", EXACT, ask("q5")), EXACT, answer("too big", 1_001));

    assertThat(cache.lookup(key("b", EXACT, ask("q2")), EXACT)).isEmpty();
    assertThat(cache.lookup(key("a", EXACT, ask("q1")), EXACT)).isPresent();
    assertThat(cache.lookup(key("a", EXACT, ask("q3")), EXACT)).isPresent();
    assertThat(cache.lookup(key("c", EXACT, ask("q4")), EXACT)).isPresent();
    assertThat(cache.lookup(key("c", EXACT, ask("q5")), EXACT)).isEmpty();
    assertThat(cache.stats()).extracting(ModelCache.Stats::entries, ModelCache.Stats::bytes,
        ModelCache.Stats::evictions, ModelCache.Stats::stores).containsExactly(3L, 900L, 1L, 4L);
  }

  @Test
  void storingTheSameKeyAgain_replacesTheEntry() {
    ModelCache cache = new ModelCache(MINILM, 1 << 20, clock);
    ModelCache.Key k = key("a", BOTH, ask("Where is my order?"));
    cache.store(k, BOTH, answer("old", 200));
    cache.store(k, BOTH, answer("new", 300));
    assertThat(cache.lookup(k, BOTH)).get().extracting(ModelCacheTest::text).asString().contains("new");
    assertThat(cache.lookup(key("a", BOTH, ask("Where's my order?")), BOTH)).get()
        .extracting(ModelCacheTest::text).asString().contains("new");
    assertThat(cache.stats()).extracting(ModelCache.Stats::entries, ModelCache.Stats::bytes).containsExactly(1L, 300L);
  }

  // ---- semantic ----

  /** Paraphrases of support questions: each must be answered by the other's entry. */
  static final List<String[]> PARAPHRASES = List.of(
      new String[] {"How do I reset my password?", "How can I reset my password?"},
      new String[] {"How do I reset my password?", "how do i reset my password"},
      new String[] {"How do I reset my password?", "What's the way to reset my password?"},
      new String[] {"How do I cancel my subscription?", "How can I cancel my subscription?"},
      new String[] {"Where is my order?", "Where's my order?"},
      new String[] {"Where is my order?", "  where is my ORDER  "},
      new String[] {"Can I get a refund?", "Is it possible to get a refund?"},
      new String[] {"How do I change my email address?", "How can I change my email address?"},
      new String[] {"How do I contact customer support?", "How can I contact customer support?"},
      new String[] {
          "I updated the app yesterday on my Android phone and since then I can't log in to my account. What should I do?",
          "I updated the app yesterday on my Android phone and since then I cannot log in to my account. What should I do?"});

  /**
   * Different support questions that look alike: none may be answered by the other's entry. The
   * first ones MiniLM alone already keeps apart at 0.95; the last ones it scores above 0.95 and
   * only the facts guard keeps apart.
   */
  static final List<String[]> UNRELATED = List.of(
      new String[] {"How do I cancel my subscription?", "How do I renew my subscription?"},
      new String[] {"Please refund order 1234", "Please refund order 5678"},
      new String[] {"I can log in", "I can't log in"},
      new String[] {"How do I reset my password?", "How do I reset my username?"},
      new String[] {"How do I upgrade my plan?", "How do I downgrade my plan?"},
      new String[] {"How do I enable two-factor authentication?", "How do I disable two-factor authentication?"},
      new String[] {"How do I add a user to my team?", "How do I remove a user from my team?"},
      new String[] {"What is the status of ticket 42?", "What is the status of ticket 43?"},
      new String[] {"How do I export my data to CSV?", "How do I import my data from CSV?"},
      new String[] {"Is the app available on Android?", "Is the app available on iOS?"},
      new String[] {"How do I pause my subscription?", "How do I cancel my subscription?"},
      new String[] {"Does the price include VAT?", "Does the price exclude VAT?"},
      new String[] {"How do I turn on notifications?", "How do I turn off notifications?"},
      new String[] {"Refund my last invoice", "Refund my first invoice"},
      new String[] {"Is my account locked?", "Is my account unlocked?"},
      new String[] {"The invoice is correct", "The invoice is incorrect"},
      new String[] {"Cancel order 1234", "Cancel order 1243"},
      new String[] {"Send me the invoice for March", "Send me the invoice for April"},
      new String[] {"What happens if I pay my invoice late?", "What happens if I pay my invoice early?"},
      // MiniLM alone scores these at 0.95 or more:
      new String[] {
          "I ordered a blue winter jacket last week and it still has not arrived. Can you check the status of order 1234?",
          "I ordered a blue winter jacket last week and it still has not arrived. Can you check the status of order 1243?"},
      new String[] {
          "I updated the app yesterday on my Android phone and since then I can log in to my account. What should I do?",
          "I updated the app yesterday on my Android phone and since then I can't log in to my account. What should I do?"},
      new String[] {"Is the item in stock?", "Is the item not in stock?"},
      new String[] {"Why is my card working?", "Why is my card not working?"},
      new String[] {"Should I restart the router before calling support?",
          "Should I not restart the router before calling support?"},
      new String[] {"What happens if I pay my invoice late?", "What happens if I don't pay my invoice late?"},
      new String[] {"Give me a summary of the meeting notes from Monday",
          "Give me a summary of the meeting notes from Tuesday"});

  /** The guarded pairs above that the model alone would match: the guard is what keeps them apart. */
  static final int GUARD_NEEDED_FROM = 19;

  private Optional<ModelCache.Hit> storeThenAsk(String stored, String asked, CacheSettings s) {
    ModelCache cache = new ModelCache(MINILM, 1 << 20, clock);
    cache.store(key("support", s, ask(stored)), s, answer("answer to: " + stored));
    return cache.lookup(key("support", s, ask(asked)), s);
  }

  private static double rawSimilarity(String a, String b) {
    return MiniLm.cosine(MiniLm.shared().embed(a), MiniLm.shared().embed(b));
  }

  @Test
  void semantic_paraphrasesHit() {
    for (String[] p : PARAPHRASES) {
      Optional<ModelCache.Hit> hit = storeThenAsk(p[0], p[1], BOTH);
      System.out.printf("paraphrase %.4f %-4s | %s | %s%n", rawSimilarity(p[0], p[1]),
          hit.isPresent() ? "hit" : "MISS", p[0], p[1]);
      assertThat(hit).as(p[0] + " | " + p[1]).get().satisfies(h -> {
        assertThat(h.semantic()).isTrue();
        assertThat(h.similarity()).isGreaterThanOrEqualTo(0.95).isLessThan(1.0);
        assertThat(text(h)).contains("answer to: " + p[0]);
      });
    }
  }

  @Test
  void semantic_unrelatedButSimilarLookingQuestionsMiss() {
    assertThat(UNRELATED).hasSizeGreaterThanOrEqualTo(20);
    for (String[] p : UNRELATED) {
      Optional<ModelCache.Hit> hit = storeThenAsk(p[0], p[1], BOTH);
      Optional<String> guard = Facts.of(p[0]).conflictWith(Facts.of(p[1]));
      System.out.printf("unrelated %.4f %-4s %-45s | %s | %s%n", rawSimilarity(p[0], p[1]),
          hit.isPresent() ? "HIT" : "miss", guard.orElse("(facts agree)"), p[0], p[1]);
      assertThat(hit).as(p[0] + " | " + p[1]).isEmpty();
    }
  }

  @Test
  void semantic_guardKeepsApartPairsTheModelAloneWouldMatch() {
    for (String[] p : UNRELATED.subList(GUARD_NEEDED_FROM, UNRELATED.size())) {
      assertThat(rawSimilarity(p[0], p[1])).as("MiniLM alone: " + p[0] + " | " + p[1])
          .isGreaterThanOrEqualTo(CacheSettings.DEFAULT_MIN_SIMILARITY);
      assertThat(Facts.of(p[0]).conflictWith(Facts.of(p[1]))).as(p[0] + " | " + p[1]).isPresent();
      assertThat(storeThenAsk(p[0], p[1], BOTH)).isEmpty();
    }
  }

  @Test
  void semantic_missesWhenTheEarlierConversationDiffers() {
    ModelCache cache = new ModelCache(MINILM, 1 << 20, clock);
    ObjectNode stored = chat(SUPPORT, "I'm on the Pro plan.", "Thanks, noted.", "How do I reset my password?");
    cache.store(key("support", BOTH, stored), BOTH, answer("Pro reset"));

    ObjectNode sameHistory = chat(SUPPORT, "I'm on the Pro plan.", "Thanks, noted.", "How can I reset my password?");
    ObjectNode otherUserTurn = chat(SUPPORT, "I'm on the Free plan.", "Thanks, noted.", "How can I reset my password?");
    ObjectNode otherAssistantTurn = chat(SUPPORT, "I'm on the Pro plan.", "Noted.", "How can I reset my password?");
    ObjectNode noHistory = ask("How can I reset my password?");

    assertThat(cache.lookup(key("support", BOTH, sameHistory), BOTH)).get()
        .satisfies(h -> assertThat(h.semantic()).isTrue());
    assertThat(cache.lookup(key("support", BOTH, otherUserTurn), BOTH)).isEmpty();
    assertThat(cache.lookup(key("support", BOTH, otherAssistantTurn), BOTH)).isEmpty();
    assertThat(cache.lookup(key("support", BOTH, noHistory), BOTH)).isEmpty();
  }

  @Test
  void semantic_picksTheMostSimilarEntryOfThePartition() {
    ModelCache cache = new ModelCache(MINILM, 1 << 20, clock);
    for (String q : List.of("How do I reset my password?", "How do I change my email address?",
        "How do I reset my password??", "Where is my order?")) {
      cache.store(key("support", BOTH, ask(q)), BOTH, answer("answer to: " + q));
    }
    Optional<ModelCache.Hit> hit = cache.lookup(key("support", BOTH, ask("How can I reset my password?")), BOTH);
    assertThat(hit).get().extracting(ModelCacheTest::text).asString().contains("answer to: How do I reset my password?\"");
    assertThat(cache.stats().semanticHits()).isEqualTo(1);
  }

  @Test
  void semantic_isSkippedWhenSwitchedOffOrWithoutAnEmbedder() {
    String q = "How do I reset my password?";
    String paraphrase = "How can I reset my password?";
    assertThat(storeThenAsk(q, paraphrase, EXACT)).isEmpty();
    assertThat(storeThenAsk(q, paraphrase, new CacheSettings(true, true, 1.0, Duration.ofHours(1), 10, null)))
        .isEmpty();

    ModelCache noModel = new ModelCache(null, 1 << 20, clock);
    noModel.store(key("a", BOTH, ask(q)), BOTH, answer("x"));
    assertThat(noModel.lookup(key("a", BOTH, ask(paraphrase)), BOTH)).isEmpty();
    assertThat(noModel.lookup(key("a", BOTH, ask(q)), BOTH)).isPresent();

    ModelCache broken = new ModelCache(text -> {
      throw new IllegalStateException("model failed to load");
    }, 1 << 20, clock);
    broken.store(key("a", BOTH, ask(q)), BOTH, answer("x"));
    assertThat(broken.lookup(key("a", BOTH, ask(paraphrase)), BOTH)).isEmpty();
    assertThat(broken.lookup(key("a", BOTH, ask(q)), BOTH)).isPresent();
  }

  @Test
  void semanticOnly_stillAnswersIdenticalRequests() {
    CacheSettings semanticOnly = CacheSettings.of(false, true);
    assertThat(storeThenAsk("Where is my order?", "Where is my order?", semanticOnly)).get()
        .satisfies(h -> assertThat(h.similarity()).isEqualTo(1.0));
    assertThat(storeThenAsk("Where is my order?", "Where's my order?", semanticOnly)).isPresent();
  }

  @Test
  void aMissedLookupsEmbeddingIsReusedByTheStoreThatFollows() {
    AtomicInteger embeddings = new AtomicInteger();
    ModelCache cache = new ModelCache(text -> {
      embeddings.incrementAndGet();
      return MiniLm.shared().embed(text);
    }, 1 << 20, clock);
    cache.store(key("a", BOTH, ask("Where is my order?")), BOTH, answer("x"));
    ModelCache.Key other = key("a", BOTH, ask("How do I reset my password?"));
    assertThat(cache.lookup(other, BOTH)).isEmpty();
    cache.store(other, BOTH, answer("y"));
    assertThat(embeddings).hasValue(2);
  }

  @Test
  void settingsRejectUnsafeValues() {
    assertThatThrownBy(() -> new CacheSettings(true, true, 0.8, Duration.ofHours(1), 10, null))
        .hasMessageContaining("minSimilarity");
    assertThatThrownBy(() -> new CacheSettings(true, true, 0.95, Duration.ZERO, 10, null))
        .hasMessageContaining("ttl");
    assertThatThrownBy(() -> new CacheSettings(true, true, 0.95, Duration.ofHours(1), 0, null))
        .hasMessageContaining("maxEntries");
    assertThatThrownBy(() -> new CacheSettings(true, true, 0.95, Duration.ofHours(1), 10, " "))
        .hasMessageContaining("shareGroup");
  }

  // ---- concurrency ----

  /** A fast stand-in for MiniLM: one direction per question number, so rewordings of it match. */
  private static float[] fakeEmbedding(String text) {
    int n = Integer.parseInt(text.replaceAll("\\D", ""));
    float[] v = new float[16];
    v[n % 16] = 1;
    v[(n / 16) % 16] += 0.5f;
    return v;
  }

  @Test
  void concurrentStoresAndLookups_keepTheBounds() throws Exception {
    int maxEntries = 20;
    long maxBytes = 30_000;
    ModelCache cache = new ModelCache(ModelCacheTest::fakeEmbedding, maxBytes, clock);
    CacheSettings s = new CacheSettings(true, true, 0.99, Duration.ofHours(1), maxEntries, null);
    String[] agents = {"a", "b", "c", "d"};
    AtomicBoolean overBound = new AtomicBoolean();
    AtomicLong lookups = new AtomicLong();
    AtomicLong storesDone = new AtomicLong();
    AtomicBoolean wrongAnswer = new AtomicBoolean();
    AtomicBoolean running = new AtomicBoolean(true);
    Thread watcher = Thread.ofPlatform().start(() -> {
      while (running.get()) {
        ModelCache.Stats st = cache.stats();
        if (st.bytes() > maxBytes || st.entries() > (long) maxEntries * agents.length) {
          overBound.set(true);
        }
        java.util.concurrent.locks.LockSupport.parkNanos(100_000);
      }
    });
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 64; t++) {
        done.add(pool.submit(() -> {
          ThreadLocalRandom r = ThreadLocalRandom.current();
          for (int i = 0; i < 500; i++) {
            String agent = agents[r.nextInt(agents.length)];
            int n = r.nextInt(60);
            String q = (r.nextBoolean() ? "question " : "tell me about question ") + n;
            ModelCache.Key k = key(agent, s, ask(q));
            if (r.nextInt(3) == 0) {
              cache.store(k, s, answer(agent + ":" + n, 500 + r.nextInt(1_500)));
              storesDone.incrementAndGet();
            } else {
              lookups.incrementAndGet();
              cache.lookup(k, s).ifPresent(h -> {
                if (!text(h).contains("\"" + agent + ":" + n + "\"")) {
                  wrongAnswer.set(true);
                }
              });
            }
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(2, TimeUnit.MINUTES);
      }
    } finally {
      running.set(false);
      watcher.join();
    }
    ModelCache.Stats st = cache.stats();
    assertThat(overBound).isFalse();
    assertThat(wrongAnswer).as("an answer to another agent or question").isFalse();
    assertThat(st.bytes()).isLessThanOrEqualTo(maxBytes).isPositive();
    assertThat(st.entries()).isLessThanOrEqualTo((long) maxEntries * agents.length).isPositive();
    assertThat(st.stores()).isEqualTo(storesDone.get());
    assertThat(st.exactHits() + st.semanticHits() + st.misses()).isEqualTo(lookups.get());
    assertThat(st.semanticHits()).isPositive();
    assertThat(st.evictions()).isPositive();
    assertThat(st.stores() - st.evictions()).as("every entry left was stored and not evicted")
        .isGreaterThanOrEqualTo(st.entries());
  }

  @Test
  void aSlowEmbedding_doesNotHoldUpOtherLookupsAndStores() throws Exception {
    CountDownLatch embedding = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    ModelCache cache = new ModelCache(text -> {
      embedding.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return fakeEmbedding(text);
    }, 1 << 20, clock);
    Thread slow = Thread.ofVirtual().start(() -> cache.store(key("a", BOTH, ask("question 1")), BOTH, answer("1")));
    try {
      assertThat(embedding.await(10, TimeUnit.SECONDS)).isTrue();
      Thread fast = Thread.ofVirtual().start(() -> {
        cache.store(key("a", EXACT, ask("question 2")), EXACT, answer("2"));
        cache.lookup(key("a", EXACT, ask("question 2")), EXACT).orElseThrow();
        cache.stats();
      });
      assertThat(fast.join(Duration.ofSeconds(10))).as("finished while another thread was embedding").isTrue();
    } finally {
      release.countDown();
      slow.join();
    }
    assertThat(cache.stats().entries()).isEqualTo(2);
  }
}

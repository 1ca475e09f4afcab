package dev.flightdeck.gateway.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flightdeck.gateway.telemetry.Usage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/** The model gateway's in-memory parts: rate windows, runaway detection, stream relay, prices. */
class ModelGatewayPartsTest {

  @Test
  void requestsPerMinuteSlideWithTheClock() {
    AtomicLong now = new AtomicLong(1_000);
    RateLimits limits = new RateLimits(now::get);
    ModelConfig.Rate rate = new ModelConfig.Rate(3, 0);
    for (int i = 0; i < 3; i++) {
      assertThat(limits.acquire("k", rate, 10).allowed()).isTrue();
      now.addAndGet(10);
    }
    RateLimits.Decision refused = limits.acquire("k", rate, 10);
    assertThat(refused.allowed()).isFalse();
    assertThat(refused.remainingRequests()).isZero();
    // The first request (second 1000) leaves the window at 1060: now is 1030.
    assertThat(refused.retryAfterSeconds()).isEqualTo(30);
    now.set(1_060);
    assertThat(limits.acquire("k", rate, 10).allowed()).isTrue();
    assertThat(limits.acquire("other", rate, 10).allowed()).as("keys are separate").isTrue();
  }

  @Test
  void tokensPerMinuteAreCorrectedToTheRealUsage() {
    AtomicLong now = new AtomicLong(50);
    RateLimits limits = new RateLimits(now::get);
    ModelConfig.Rate rate = new ModelConfig.Rate(0, 1_000);
    assertThat(limits.acquire("k", rate, 900).allowed()).isTrue();
    assertThat(limits.acquire("k", rate, 200).allowed()).as("900 + 200 > 1000").isFalse();
    limits.settle("k", 50, 900, 100); // it used 100, not 900
    RateLimits.Decision d = limits.acquire("k", rate, 200);
    assertThat(d.allowed()).isTrue();
    assertThat(d.remainingTokens()).isEqualTo(700);
    // A call larger than the whole allowance still runs on an empty window.
    assertThat(limits.acquire("empty", rate, 5_000).allowed()).isTrue();
  }

  @Test
  void aSessionRepeatingTheSameCallIsHaltedAndStaysHalted() {
    AtomicLong clock = new AtomicLong(0);
    Runaway runaway = new Runaway(clock::get);
    ModelConfig.Runaway rule = new ModelConfig.Runaway(true, 3, 0);
    for (int i = 0; i < 3; i++) {
      assertThat(runaway.call("a", "v", "s", "same", rule)).isEmpty();
      assertThat(runaway.call("a", "v", "s", "different-" + i, rule)).isEmpty();
    }
    assertThat(runaway.call("a", "v", "s", "same", rule)).hasValueSatisfying(h ->
        assertThat(h.reason()).contains("4 times").contains("maxRepeats"));
    assertThat(runaway.halted("a", "s")).isPresent();
    assertThat(runaway.halted("a", "other")).isEmpty();
    assertThat(runaway.call("a", "v", "s", "new", rule)).as("halted for every call").isPresent();
    assertThat(runaway.release("a", "s")).isTrue();
    assertThat(runaway.halted("a", "s")).isEmpty();
    assertThat(runaway.call("a", "v", "s", "same", new ModelConfig.Runaway(false, 1, 0))).as("disabled").isEmpty();
  }

  @Test
  void aSessionBurningTokensFasterThanItsLimitIsHalted() {
    AtomicLong clock = new AtomicLong(0);
    Runaway runaway = new Runaway(clock::get);
    ModelConfig.Runaway rule = new ModelConfig.Runaway(true, 100, 1_000);
    assertThat(runaway.spent("a", "v", "s", 600, rule)).isEmpty();
    clock.addAndGet(61_000); // a minute later the first 600 no longer count
    assertThat(runaway.spent("a", "v", "s", 600, rule)).isEmpty();
    clock.addAndGet(10_000);
    assertThat(runaway.spent("a", "v", "s", 600, rule)).hasValueSatisfying(h ->
        assertThat(h.reason()).contains("1200 tokens in the last minute"));
  }

  @Test
  void theFingerprintIgnoresCallIdsButNotTheLastMessage() {
    var a = dev.flightdeck.api.resource.Json.read("""
        {"model":"m","messages":[{"role":"user","content":"q"},{"role":"tool","tool_call_id":"call_1","content":"r"}]}""");
    var b = dev.flightdeck.api.resource.Json.read("""
        {"model":"m","messages":[{"role":"user","content":"q"},{"role":"tool","tool_call_id":"call_2","content":"r"}]}""");
    var c = dev.flightdeck.api.resource.Json.read("""
        {"model":"m","messages":[{"role":"user","content":"q"},{"role":"tool","tool_call_id":"call_1","content":"other"}]}""");
    String fa = Models.fingerprint((com.fasterxml.jackson.databind.node.ObjectNode) a);
    assertThat(Models.fingerprint((com.fasterxml.jackson.databind.node.ObjectNode) b)).isEqualTo(fa);
    assertThat(Models.fingerprint((com.fasterxml.jackson.databind.node.ObjectNode) c)).isNotEqualTo(fa);
  }

  @Test
  void pricesAreExactInNanoDollars() {
    ModelConfig.Price p = new ModelConfig.Price(0.15, 0.075, 0.60);
    // 1000 prompt tokens of which 400 cached, 500 completion tokens.
    assertThat(p.nanoUsd(1000, 400, 500)).isEqualTo(600 * 150 + 400 * 75 + 500 * 600);
    assertThat(new ModelConfig.Price(1, -1, 2).nanoUsd(10, 10, 0)).as("cached at the input price when unlisted")
        .isEqualTo(10_000);
  }

  private static final String STREAM = """
      data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"hé"}}],"usage":null}

      data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}

      data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}

      data: [DONE]

      """;

  @Test
  void theUsageChunkIsReadAndOnlyForwardedWhenTheClientAskedForIt() {
    byte[] in = STREAM.getBytes(StandardCharsets.UTF_8);
    OpenAiStream hidden = new OpenAiStream(false);
    String out = new String(hidden.feed(in, 0, in.length), StandardCharsets.UTF_8) + new String(hidden.finish(), StandardCharsets.UTF_8);
    assertThat(out).doesNotContain("prompt_tokens").contains("hé").endsWith("data: [DONE]\n\n");
    assertThat(hidden.usage()).isEqualTo(new Usage(7, 3, -1, -1));
    assertThat(hidden.done()).isTrue();
    OpenAiStream shown = new OpenAiStream(true);
    assertThat(new String(shown.feed(in, 0, in.length), StandardCharsets.UTF_8)).isEqualTo(STREAM);
  }

  @Test
  void usageWrittenWithSpacesIsReadToo() {
    byte[] in = STREAM.replace("\"choices\":[],\"usage\":{", "\"choices\": [], \"usage\": {").getBytes(StandardCharsets.UTF_8);
    OpenAiStream s = new OpenAiStream(false);
    assertThat(new String(s.feed(in, 0, in.length), StandardCharsets.UTF_8)).doesNotContain("prompt_tokens");
    assertThat(s.usage().promptTokens()).isEqualTo(7);
  }

  @Property(tries = 200)
  void anySplitOfTheStreamRelaysTheSameBytesAndUsage(@ForAll @Size(max = 12) List<@IntRange(min = 1, max = 400) Integer> cuts,
      @ForAll boolean crlf) {
    String text = crlf ? STREAM.replace("\n", "\r\n") : STREAM;
    byte[] in = text.getBytes(StandardCharsets.UTF_8);
    OpenAiStream whole = new OpenAiStream(false);
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    expected.writeBytes(whole.feed(in, 0, in.length));
    expected.writeBytes(whole.finish());
    OpenAiStream pieces = new OpenAiStream(false);
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    int at = 0;
    for (int cut : cuts) {
      int n = Math.min(cut, in.length - at);
      got.writeBytes(pieces.feed(in, at, n));
      at += n;
    }
    got.writeBytes(pieces.feed(in, at, in.length - at));
    got.writeBytes(pieces.finish());
    assertThat(got.toByteArray()).isEqualTo(expected.toByteArray());
    assertThat(pieces.usage()).isEqualTo(whole.usage()).isEqualTo(new Usage(7, 3, -1, -1));
  }

  @Property(tries = 300)
  void arbitraryBytesNeverBreakTheRelay(@ForAll @Size(max = 600) byte[] junk) {
    OpenAiStream s = new OpenAiStream(false);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(s.feed(junk, 0, junk.length));
    out.writeBytes(s.finish());
    assertThat(out.size()).isLessThanOrEqualTo(junk.length);
  }
}

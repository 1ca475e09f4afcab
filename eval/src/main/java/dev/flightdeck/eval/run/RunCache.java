package dev.flightdeck.eval.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.eval.assertion.Judge;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A cache of agent responses keyed by (target, rendered request, run index): rerunning a suite
 * re-checks the stored answers without calling the agent, while the N runs of a case stay N
 * separate calls. Kept as append-only JSON lines in a directory, one file for runs and one for
 * judge verdicts; a torn last line (a killed process) is skipped on load.
 */
public final class RunCache implements AutoCloseable {

  /** A stored response. */
  public record Stored(int status, String body, long latencyMs) {}

  private final Map<String, Stored> runs = new ConcurrentHashMap<>();
  private final Map<String, JsonNode> verdicts = new ConcurrentHashMap<>();
  private final BufferedWriter runLog;
  private final BufferedWriter judgeLog;

  private RunCache(Path dir) throws IOException {
    Files.createDirectories(dir);
    Path runFile = dir.resolve("runs.jsonl");
    Path judgeFile = dir.resolve("judge.jsonl");
    load(runFile, n -> runs.put(n.path("key").asText(), new Stored(n.path("status").asInt(),
        n.path("body").asText(), n.path("latencyMs").asLong())));
    load(judgeFile, n -> verdicts.put(n.path("key").asText(), n.path("verdict")));
    runLog = Files.newBufferedWriter(runFile, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    judgeLog = Files.newBufferedWriter(judgeFile, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  /** Opens (or creates) the cache in a directory. */
  public static RunCache open(Path dir) {
    try {
      return new RunCache(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the eval cache in " + dir + ": " + e.getMessage(), e);
    }
  }

  private static void load(Path file, java.util.function.Consumer<JsonNode> into) throws IOException {
    if (!Files.exists(file)) {
      return;
    }
    try (var lines = Files.lines(file, StandardCharsets.UTF_8)) {
      lines.forEach(line -> {
        try {
          into.accept(Json.mapper().readTree(line));
        } catch (IOException | RuntimeException e) {
          // a torn or foreign line: skip it, the run is simply made again
        }
      });
    }
  }

  /** The key of one run. */
  static String key(String target, String requestDigest, int index) {
    return sha256(target + "\n" + requestDigest + "\n" + index);
  }

  Optional<Stored> get(String key) {
    return Optional.ofNullable(runs.get(key));
  }

  synchronized void put(String key, Stored s) {
    runs.put(key, s);
    ObjectNode o = Json.object().put("key", key).put("status", s.status()).put("body", s.body())
        .put("latencyMs", s.latencyMs());
    write(runLog, o);
  }

  /** The judge verdict cache backed by this directory. */
  public Judge.Cache judgeCache() {
    return new Judge.Cache() {
      @Override
      public Optional<JsonNode> get(String key) {
        return Optional.ofNullable(verdicts.get(key));
      }

      @Override
      public void put(String key, JsonNode verdict) {
        verdicts.put(key, verdict);
        synchronized (RunCache.this) {
          write(judgeLog, Json.object().put("key", key).set("verdict", verdict));
        }
      }
    };
  }

  private static void write(BufferedWriter w, JsonNode n) {
    try {
      w.write(n.toString());
      w.write('\n');
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the eval cache: " + e.getMessage(), e);
    }
  }

  static String sha256(String s) {
    return Json.sha256Hex(s.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public synchronized void close() {
    try {
      runLog.close();
      judgeLog.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

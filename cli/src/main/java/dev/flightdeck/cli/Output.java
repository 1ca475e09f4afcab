package dev.flightdeck.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Kind;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Tables, YAML and JSON for resources, as kubectl prints them. */
final class Output {

  /** The output formats of get and history. */
  enum Format { TABLE, YAML, JSON, NAME }

  private Output() {}

  static Format format(String s) {
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "table", "wide" -> Format.TABLE;
      case "yaml", "yml" -> Format.YAML;
      case "json" -> Format.JSON;
      case "name" -> Format.NAME;
      default -> throw new CliException(ExitCodes.INVALID, "error: -o: expected table, yaml, json or name, got " + s);
    };
  }

  /** The {@code -o} value in lowercase when it is one of {@code allowed}; exit 2 naming them otherwise. */
  static String choose(String given, List<String> allowed) {
    String f = given.toLowerCase(Locale.ROOT);
    if (!allowed.contains(f)) {
      throw new CliException(ExitCodes.INVALID, "error: -o: expected " + String.join(", ", allowed.subList(0, allowed.size() - 1))
          + (allowed.size() > 1 ? " or " : "") + allowed.get(allowed.size() - 1) + ", got " + given);
    }
    return f;
  }

  /** Prints resources in a format. */
  static void resources(PrintWriter out, Kind kind, List<JsonNode> items, Format f, Instant now) {
    switch (f) {
      case YAML -> {
        for (int i = 0; i < items.size(); i++) {
          out.print((i > 0 ? "---\n" : "") + Json.writeYaml(items.get(i)));
        }
      }
      case JSON -> {
        if (items.size() == 1) {
          out.println(Json.writePretty(items.get(0)));
        } else {
          var list = Json.object().put("kind", kind.displayName() + "List");
          var arr = list.putArray("items");
          items.forEach(arr::add);
          out.println(Json.writePretty(list));
        }
      }
      case NAME -> items.forEach(i -> out.println(kind.singular() + "/" + i.path("metadata").path("name").asText()));
      case TABLE -> table(out, columns(kind), rows(kind, items, now));
    }
  }

  static List<String> columns(Kind kind) {
    return switch (kind) {
      case AGENT -> List.of("NAME", "ROUTES", "OWNER", "AGE");
      case AGENT_VERSION -> List.of("NAME", "AGENT", "MODELS", "DIGEST", "AGE");
      case ROLLOUT -> List.of("NAME", "AGENT", "CANDIDATE", "STRATEGY", "AGE");
      case EVAL_SUITE -> List.of("NAME", "TARGET", "RUNS", "CASES", "AGE");
      case MODEL_PROVIDER -> List.of("NAME", "TYPE", "BASE URL", "MODELS", "AGE");
      case BUDGET -> List.of("NAME", "SELECTOR", "PER", "PERIOD", "TOKENS", "COST USD", "AGE");
    };
  }

  static List<List<String>> rows(Kind kind, List<JsonNode> items, Instant now) {
    List<List<String>> rows = new ArrayList<>();
    for (JsonNode r : items) {
      JsonNode spec = r.path("spec");
      String name = r.path("metadata").path("name").asText();
      String age = age(r.path("metadata").path("creationTimestamp").asText(""), now);
      rows.add(switch (kind) {
        case AGENT -> {
          List<String> routes = new ArrayList<>();
          spec.path("routes").forEach(x -> routes.add(x.path("version").asText() + ":" + x.path("weight").asInt()));
          yield List.of(name, routes.isEmpty() ? "<none>" : String.join(",", routes), spec.path("owner").asText("-"), age);
        }
        case AGENT_VERSION -> {
          List<String> models = new ArrayList<>();
          spec.path("models").forEach(m -> models.add(m.path("id").asText()));
          String digest = r.path("status").path("digest").asText("-");
          yield List.of(name, spec.path("agent").asText(), String.join(",", models),
              digest.length() > 19 ? digest.substring(0, 19) : digest, age);
        }
        case ROLLOUT -> {
          String strategy = spec.path("strategy").fieldNames().hasNext() ? spec.path("strategy").fieldNames().next() : "-";
          yield List.of(name, spec.path("agent").asText(), spec.path("candidate").asText(), strategy, age);
        }
        case EVAL_SUITE -> List.of(name, spec.path("target").asText("-"), Integer.toString(spec.path("runs").asInt(5)),
            Integer.toString(spec.path("cases").size()), age);
        case MODEL_PROVIDER -> List.of(name, spec.path("type").asText("openai"), spec.path("baseUrl").asText(),
            Integer.toString(spec.path("models").size()), age);
        case BUDGET -> {
          List<String> selector = new ArrayList<>();
          spec.path("selector").fields().forEachRemaining(e -> selector.add(e.getKey() + "=" + e.getValue().asText()));
          yield List.of(name, String.join(",", selector), spec.path("per").asText("-"), spec.path("period").asText("total"),
              spec.has("tokens") ? spec.get("tokens").asText() : "-", spec.has("costUsd") ? spec.get("costUsd").asText() : "-", age);
        }
      });
    }
    return rows;
  }

  /** Prints rows under a header, columns padded to their widest cell. */
  static void table(PrintWriter out, List<String> header, List<List<String>> rows) {
    if (rows.isEmpty()) {
      out.println("No resources found.");
      return;
    }
    tableLines(header, rows).forEach(out::println);
  }

  /** The lines of a table: the header, then the rows, columns padded to their widest cell. */
  static List<String> tableLines(List<String> header, List<List<String>> rows) {
    int[] width = new int[header.size()];
    for (int i = 0; i < header.size(); i++) {
      width[i] = header.get(i).length();
      for (List<String> r : rows) {
        width[i] = Math.max(width[i], r.get(i).length());
      }
    }
    List<List<String>> all = new ArrayList<>();
    all.add(header);
    all.addAll(rows);
    List<String> lines = new ArrayList<>();
    for (List<String> r : all) {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < r.size(); i++) {
        sb.append(i == r.size() - 1 ? r.get(i) : String.format("%-" + (width[i] + 3) + "s", r.get(i)));
      }
      lines.add(sb.toString().stripTrailing());
    }
    return lines;
  }

  /** kubectl-style age: 45s, 12m, 3h, 5d. */
  static String age(String timestamp, Instant now) {
    if (timestamp.isEmpty()) {
      return "-";
    }
    return span(Duration.between(Instant.parse(timestamp), now));
  }

  /** A duration as kubectl prints ages: 45s, 12m, 3h, 5d (negative counts as 0s). */
  static String span(Duration d) {
    long s = Math.max(0, d.getSeconds());
    if (s < 120) {
      return s + "s";
    }
    if (s < 7200) {
      return s / 60 + "m";
    }
    if (s < 172800) {
      return s / 3600 + "h";
    }
    return s / 86400 + "d";
  }
}

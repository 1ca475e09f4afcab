package dev.flightdeck.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Json;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code flightdeck describe}: one resource for people: metadata, spec, status, recent history. */
@Command(name = "describe", mixinStandardHelpOptions = true, description = "Show one resource in detail, with its recent history.",
    footer = {"", "Example:", "  flightdeck describe agent support-triage"})
final class DescribeCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin Connection connection;

  @Parameters(arity = "1..2", paramLabel = "KIND NAME", description = "e.g. agent support-triage, or agent/support-triage")
  List<String> args;

  @Override
  public Integer call() {
    Ref ref = Ref.parse(args, true);
    ApiClient client = connection.client();
    JsonNode r = client.get(ref.path());
    JsonNode history = client.get(ref.path() + "/history").path("items");
    PrintWriter out = spec.commandLine().getOut();
    JsonNode m = r.path("metadata");
    out.println("Name:              " + m.path("name").asText());
    out.println("Kind:              " + r.path("kind").asText());
    out.println("Labels:            " + pairs(m.path("labels")));
    out.println("Annotations:       " + pairs(m.path("annotations")));
    out.println("Resource version:  " + m.path("resourceVersion").asText());
    out.println("Generation:        " + m.path("generation").asText());
    out.println("UID:               " + m.path("uid").asText());
    out.println("Created:           " + m.path("creationTimestamp").asText() + " ("
        + Output.age(m.path("creationTimestamp").asText(""), Instant.now()) + " ago)");
    out.println("Spec:");
    indent(out, Json.writeYaml(r.path("spec")));
    if (r.has("status")) {
      out.println("Status:");
      indent(out, Json.writeYaml(r.path("status")));
    }
    out.println("History (latest " + Math.min(5, history.size()) + " of " + history.size() + "):");
    for (int i = Math.max(0, history.size() - 5); i < history.size(); i++) {
      JsonNode h = history.get(i);
      out.println("  " + h.path("revision").asText() + "  " + h.path("operation").asText() + "  "
          + h.path("time").asText() + "  " + h.path("principal").asText());
    }
    return ExitCodes.OK;
  }

  private static String pairs(JsonNode map) {
    if (map.isMissingNode() || map.isEmpty()) {
      return "<none>";
    }
    StringBuilder sb = new StringBuilder();
    map.fields().forEachRemaining(e -> sb.append(sb.isEmpty() ? "" : ", ").append(e.getKey()).append('=').append(e.getValue().asText()));
    return sb.toString();
  }

  private static void indent(PrintWriter out, String yaml) {
    for (String line : yaml.split("\n")) {
      out.println("  " + line);
    }
  }
}

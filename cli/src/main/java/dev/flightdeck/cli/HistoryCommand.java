package dev.flightdeck.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Json;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code flightdeck history}: every stored version of a resource. */
@Command(name = "history", mixinStandardHelpOptions = true, description = "Every stored version of a resource, oldest first.",
    footer = {"", "Examples:", "  flightdeck history agent/support-triage", "  flightdeck history agent support-triage -o yaml"})
final class HistoryCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin Connection connection;

  @Parameters(arity = "1..2", paramLabel = "KIND NAME", description = "e.g. agent/support-triage")
  List<String> args;

  @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, yaml or json (default: ${DEFAULT-VALUE})")
  String output;

  @Override
  public Integer call() {
    Ref ref = Ref.parse(args, true);
    Output.Format format = Output.format(output);
    JsonNode items = connection.client().get(ref.path() + "/history").path("items");
    PrintWriter out = spec.commandLine().getOut();
    switch (format) {
      case JSON -> out.println(Json.writePretty(items));
      case YAML -> out.print(Json.writeYaml(items));
      default -> {
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode h : items) {
          String digest = Json.digest(h.path("resource").path("spec"));
          rows.add(List.of(h.path("revision").asText(), h.path("operation").asText(), h.path("principal").asText(),
              h.path("time").asText(), digest.substring(0, 19)));
        }
        Output.table(out, List.of("REVISION", "OPERATION", "PRINCIPAL", "TIME", "SPEC DIGEST"), rows);
      }
    }
    return ExitCodes.OK;
  }
}

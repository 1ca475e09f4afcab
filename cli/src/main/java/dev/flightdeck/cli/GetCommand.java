package dev.flightdeck.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Json;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code flightdeck get}: list resources of a kind, or show one. */
@Command(name = "get", mixinStandardHelpOptions = true, description = "List resources of a kind, or show one.",
    footer = {"", "Examples:", "  flightdeck get agents", "  flightdeck get av -l team=support -o yaml",
        "  flightdeck get agent/support-triage -o json", "  flightdeck get agents --watch"})
final class GetCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin Connection connection;

  @Parameters(arity = "1..2", paramLabel = "KIND [NAME]", description = "agents, agentversions (av), rollouts (ro), evalsuites (es); or KIND/NAME")
  List<String> args;

  @Option(names = {"-l", "--selector"}, paramLabel = "SELECTOR", description = "Label selector, e.g. team=support,tier!=canary")
  String selector;

  @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table, yaml, json or name (default: ${DEFAULT-VALUE})")
  String output;

  @Option(names = {"-w", "--watch"}, description = "After listing, print a line for each change until interrupted.")
  boolean watch;

  @Override
  public Integer call() throws Exception {
    Ref ref = Ref.parse(args, false);
    Output.Format format = Output.format(output);
    ApiClient client = connection.client();
    PrintWriter out = spec.commandLine().getOut();
    List<JsonNode> items = new ArrayList<>();
    String since;
    if (ref.name().isPresent()) {
      JsonNode r = client.get(ref.path());
      items.add(r);
      since = r.path("metadata").path("resourceVersion").asText("0");
    } else {
      JsonNode list = client.get(ref.path() + (selector == null ? "" : "?labelSelector=" + URLEncoder.encode(selector, StandardCharsets.UTF_8)));
      list.path("items").forEach(items::add);
      since = list.path("resourceVersion").asText("0");
    }
    Output.resources(out, ref.kind(), items, format, Instant.now());
    out.flush();
    if (watch) {
      watch(client, ref, since, out);
    }
    return ExitCodes.OK;
  }

  private void watch(ApiClient client, Ref ref, String since, PrintWriter out) throws Exception {
    try (InputStream in = client.stream("/api/v1/watch?kind=" + ref.kind().plural() + "&since=" + since);
         BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (!line.startsWith("data: ")) {
          continue;
        }
        JsonNode e = Json.read(line.substring(6));
        String name = e.path("resource").path("metadata").path("name").asText();
        if (ref.name().isPresent() && !ref.name().get().equals(name)) {
          continue;
        }
        out.println(e.path("time").asText() + "  " + e.path("operation").asText() + "  " + ref.kind().singular() + "/" + name
            + "  rv=" + e.path("revision").asText() + "  by " + e.path("principal").asText());
        out.flush();
      }
    }
  }
}

package dev.flightdeck.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Kind;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code flightdeck budget status}: what a budget's counters have spent and hold. */
@Command(name = "budget", mixinStandardHelpOptions = true,
    description = "What budgets have spent, as the budget store holds it (a viewer token is enough).",
    subcommands = {BudgetCommand.Status.class},
    footer = {"", "Examples:", "  flightdeck budget status budget/triage-daily",
        "  flightdeck budget status triage-per-session --unit session/support-triage/conv-"})
final class BudgetCommand {

  /** {@code budget status budget/NAME [--unit PREFIX] [--after COUNTER] [--limit N] [-o FORMAT]}. */
  @Command(name = "status", mixinStandardHelpOptions = true,
      description = {"List a budget's counters, in order: one per session, version, agent or team it is kept for",
          "(and per day or month), with what settled calls used, what is reserved and what is left.",
          "Reserved includes the slices gateway replicas have leased and not yet returned."})
  static final class Status implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;
    @Parameters(paramLabel = "budget/NAME", description = "The budget (NAME alone works too).") String budget;
    @Option(names = "--unit", paramLabel = "PREFIX",
        description = "Only counters that start with this, e.g. session/AGENT/ or agent/AGENT/2026-12-06.")
    String unit;
    @Option(names = "--after", paramLabel = "COUNTER", description = "Start after this counter (the last page's next).")
    String after;
    @Option(names = "--limit", paramLabel = "N", defaultValue = "100",
        description = "Counters to show, 1 to 1000 (default: ${DEFAULT-VALUE}).")
    int limit;
    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "table",
        description = "table, json or yaml (default: ${DEFAULT-VALUE})")
    String output;

    @Override
    public Integer call() {
      String format = Output.choose(output, List.of("table", "json", "yaml"));
      Ref ref = Ref.named(Kind.BUDGET, budget);
      StringBuilder path = new StringBuilder(ref.path()).append("/counters?limit=").append(limit);
      if (unit != null) {
        path.append("&unit=").append(URLEncoder.encode(unit, StandardCharsets.UTF_8));
      }
      if (after != null) {
        path.append("&after=").append(URLEncoder.encode(after, StandardCharsets.UTF_8));
      }
      JsonNode page = connection.client().get(path.toString());
      PrintWriter out = spec.commandLine().getOut();
      switch (format) {
        case "json" -> out.println(Json.writePretty(page));
        case "yaml" -> out.print(Json.writeYaml(page));
        default -> table(out, ref, page);
      }
      return ExitCodes.OK;
    }

    private void table(PrintWriter out, Ref ref, JsonNode page) {
      JsonNode items = page.path("items");
      if (items.isEmpty()) {
        out.println("No counters for " + ref.display() + (unit == null ? "" : " starting with " + unit)
            + (after == null ? "" : " after " + after) + ": no call has been charged to it"
            + (unit == null && after == null ? " yet" : "") + ".");
        return;
      }
      boolean tokens = false;
      boolean usd = false;
      for (JsonNode c : items) {
        tokens |= !c.path("limit").path("tokens").isNull();
        usd |= !c.path("limit").path("usd").isNull();
      }
      tokens |= !usd; // counters charged before the budget had limits: show tokens
      List<String> header = new ArrayList<>(List.of("COUNTER"));
      if (tokens) {
        header.addAll(List.of("TOKENS USED", "RESERVED", "LEFT", "LIMIT"));
      }
      if (usd) {
        header.addAll(List.of("USD USED", "RESERVED", "LEFT", "LIMIT"));
      }
      List<List<String>> rows = new ArrayList<>();
      for (JsonNode c : items) {
        List<String> row = new ArrayList<>(List.of(c.path("counter").asText()));
        for (String dim : tokens && usd ? List.of("tokens", "usd") : List.of(tokens ? "tokens" : "usd")) {
          for (String field : List.of("used", "reserved", "remaining", "limit")) {
            JsonNode v = c.path(field).path(dim);
            row.add(v.isNull() || v.isMissingNode() ? "-" : (dim.equals("usd") ? "$" : "") + v.asText());
          }
        }
        rows.add(row);
      }
      if (page.path("deleted").asBoolean(false)) {
        out.println(ref.display() + " was deleted; its counters are kept until they expire.");
      }
      Output.table(out, header, rows);
      if (page.hasNonNull("next")) {
        out.println("More: flightdeck budget status " + ref.display() + (unit == null ? "" : " --unit " + unit)
            + " --after " + page.path("next").asText());
      }
    }
  }
}

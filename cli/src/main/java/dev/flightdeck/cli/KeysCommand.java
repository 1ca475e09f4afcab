package dev.flightdeck.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.store.key.ModelKeyStore;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code flightdeck keys}: issue, list and revoke the virtual model keys of agent versions. */
@Command(name = "keys", mixinStandardHelpOptions = true,
    description = {"Manage the virtual model keys agents call models with through the gateway.",
        "create and revoke need an operator token, list a viewer token."},
    subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Revoke.class},
    footer = {"", "Examples:", "  flightdeck keys create agentversion/support-triage-v1 --name staging",
        "  flightdeck keys list agentversion/support-triage-v1", "  flightdeck keys revoke mk_7q2x5kd3nwa4"})
final class KeysCommand {

  /** What every keys command has: its spec and the server connection. */
  abstract static class Sub implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Override
    public final Integer call() {
      run(connection.client(), spec.commandLine().getOut());
      return ExitCodes.OK;
    }

    /** Does the command's work; a failure is a {@link CliException} with its exit code. */
    abstract void run(ApiClient api, PrintWriter out);
  }

  /** The agent version argument of create and list. */
  static final class Version {
    @Parameters(paramLabel = "agentversion/NAME", description = "The agent version (NAME alone works too).")
    String text;

    Ref ref() {
      return Ref.named(Kind.AGENT_VERSION, text);
    }

    String keysPath() {
      return ref().path() + "/keys";
    }
  }

  /** {@code keys create agentversion/NAME [--name N] [-o json]}. */
  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Issue a key for an agent version; it is printed once, on standard output, and never again.",
      footer = {"", "Examples:", "  flightdeck keys create agentversion/support-triage-v1",
          "  export OPENAI_API_KEY=$(flightdeck keys create av/support-triage-v1)"})
  static final class Create extends Sub {
    @Mixin Version version;
    @Option(names = "--name", paramLabel = "N", description = "What the key is for, 1 to 128 characters (default: default).")
    String name;
    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "text",
        description = "text or json (default: ${DEFAULT-VALUE}); json is the API's answer, key included.")
    String output;

    @Override
    void run(ApiClient api, PrintWriter out) {
      String format = Output.choose(output, List.of("text", "json"));
      var body = Json.object();
      if (name != null) {
        body.put("name", name);
      }
      JsonNode k = api.post(version.keysPath(), "application/json", Json.write(body).getBytes(StandardCharsets.UTF_8));
      if (format.equals("json")) {
        out.println(Json.writePretty(k));
        return;
      }
      // The warning goes to stderr, so $(flightdeck keys create ...) captures the key alone.
      PrintWriter err = spec.commandLine().getErr();
      err.println("model key " + k.path("id").asText() + " (" + k.path("name").asText() + ") created for agentversion/"
          + k.path("version").asText() + " of agent/" + k.path("agent").asText() + ".");
      err.println("Save it now: it is not shown again. Revoke it with `flightdeck keys revoke " + k.path("id").asText() + "`.");
      err.flush();
      out.println(k.path("key").asText());
    }
  }

  /** {@code keys list agentversion/NAME [-o json]}. */
  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List a version's keys, newest first, revoked ones included (never the keys themselves).")
  static final class ListKeys extends Sub {
    @Mixin Version version;
    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "table",
        description = "table, json, yaml or name (the ids) (default: ${DEFAULT-VALUE})")
    String output;

    @Override
    void run(ApiClient api, PrintWriter out) {
      Output.Format format = Output.format(output);
      JsonNode listed = api.get(version.keysPath());
      switch (format) {
        case JSON -> out.println(Json.writePretty(listed));
        case YAML -> out.print(Json.writeYaml(listed));
        case NAME -> listed.path("items").forEach(k -> out.println(k.path("id").asText()));
        case TABLE -> {
          List<List<String>> rows = new ArrayList<>();
          for (JsonNode k : listed.path("items")) {
            rows.add(List.of(k.path("id").asText(), k.path("name").asText(), ModelKeyStore.PREFIX + k.path("prefix").asText(),
                k.path("createdAt").asText(), k.path("revokedAt").asText("-")));
          }
          if (rows.isEmpty()) {
            out.println("No keys for " + version.ref().display() + "; create one with `flightdeck keys create`.");
          } else {
            Output.table(out, List.of("ID", "NAME", "PREFIX", "CREATED", "REVOKED"), rows);
          }
        }
      }
    }
  }

  /** {@code keys revoke ID}. */
  @Command(name = "revoke", mixinStandardHelpOptions = true,
      description = {"Revoke a key: gateways refuse it within 250 ms. Revoking a revoked key changes nothing."})
  static final class Revoke extends Sub {
    @Parameters(paramLabel = "ID", description = "The key's id from `flightdeck keys list` (mk_...).") String id;

    @Override
    void run(ApiClient api, PrintWriter out) {
      JsonNode k = api.delete("/api/v1/modelkeys/" + URLEncoder.encode(id, StandardCharsets.UTF_8));
      out.println("model key " + k.path("id").asText() + " (" + k.path("name").asText()
          + ", agentversion/" + k.path("version").asText() + ") revoked at " + k.path("revokedAt").asText());
    }
  }
}

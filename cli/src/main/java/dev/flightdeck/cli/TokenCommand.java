package dev.flightdeck.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Json;
import java.io.PrintWriter;
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

/** {@code flightdeck token}: issue, list and revoke API tokens (admin). */
@Command(name = "token", mixinStandardHelpOptions = true, description = "Manage API tokens (needs an admin token).",
    subcommands = {TokenCommand.Create.class, TokenCommand.ListTokens.class, TokenCommand.Revoke.class})
final class TokenCommand {

  /** {@code token create NAME --role R}. */
  @Command(name = "create", mixinStandardHelpOptions = true, description = "Issue a token; it is printed once.",
      footer = {"", "Example:", "  flightdeck token create ci-deployer --role operator"})
  static final class Create implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;
    @Parameters(paramLabel = "NAME", description = "Who or what will hold it.") String name;
    @Option(names = "--role", required = true, description = "viewer, operator or admin") String role;

    @Override
    public Integer call() {
      JsonNode t = connection.client().post("/api/v1/tokens", "application/json",
          Json.write(Json.object().put("name", name).put("role", role)).getBytes(StandardCharsets.UTF_8));
      PrintWriter out = spec.commandLine().getOut();
      out.println("token " + t.path("name").asText() + " (" + t.path("role").asText() + ", id " + t.path("id").asText()
          + ") created. It is shown only now:");
      out.println(t.path("token").asText());
      return ExitCodes.OK;
    }
  }

  /** {@code token list}. */
  @Command(name = "list", mixinStandardHelpOptions = true, description = "List tokens (never their secrets).")
  static final class ListTokens implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Override
    public Integer call() {
      List<List<String>> rows = new ArrayList<>();
      for (JsonNode t : connection.client().get("/api/v1/tokens").path("items")) {
        rows.add(List.of(t.path("id").asText(), t.path("name").asText(), t.path("role").asText(),
            t.path("createdAt").asText(), t.path("createdBy").asText(), t.path("revokedAt").asText("-")));
      }
      Output.table(spec.commandLine().getOut(), List.of("ID", "NAME", "ROLE", "CREATED", "BY", "REVOKED"), rows);
      return ExitCodes.OK;
    }
  }

  /** {@code token revoke ID}. */
  @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke a token at once.")
  static final class Revoke implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;
    @Parameters(paramLabel = "ID", description = "The token id from `flightdeck token list`.") String id;

    @Override
    public Integer call() {
      connection.client().delete("/api/v1/tokens/" + java.net.URLEncoder.encode(id, StandardCharsets.UTF_8));
      spec.commandLine().getOut().println("token " + id + " revoked");
      return ExitCodes.OK;
    }
  }
}

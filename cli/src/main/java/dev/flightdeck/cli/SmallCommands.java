package dev.flightdeck.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** The one-line commands: whoami, version, completion, login. */
final class SmallCommands {

  private SmallCommands() {}

  /** {@code flightdeck whoami}. */
  @Command(name = "whoami", mixinStandardHelpOptions = true, description = "Show who the token belongs to and its role.")
  static final class Whoami implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Override
    public Integer call() {
      JsonNode me = connection.client().get("/api/v1/whoami");
      spec.commandLine().getOut().println(me.path("name").asText() + " (" + me.path("role").asText() + ")");
      return ExitCodes.OK;
    }
  }

  /** {@code flightdeck version}. */
  @Command(name = "version", mixinStandardHelpOptions = true, description = "Show the CLI version, and the server's if it answers.")
  static final class Version implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Override
    public Integer call() {
      String cli = Optional.ofNullable(Main.class.getPackage().getImplementationVersion()).orElse("0.1.0-SNAPSHOT");
      spec.commandLine().getOut().println("client: " + cli);
      ApiClient client = connection.client();
      try {
        spec.commandLine().getOut().println("server: " + client.get("/api/v1/version").path("version").asText()
            + " at " + client.base());
      } catch (CliException e) {
        spec.commandLine().getOut().println("server: unavailable (" + e.lines().get(0).replace("error: ", "") + ")");
      }
      return ExitCodes.OK;
    }
  }

  /** {@code flightdeck completion bash|zsh}. */
  @Command(name = "completion", mixinStandardHelpOptions = true,
      description = {"Print a shell completion script.", "bash:  source <(flightdeck completion bash)",
          "zsh:   autoload -U +X bashcompinit && bashcompinit && source <(flightdeck completion zsh)"})
  static final class Completion implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Parameters(arity = "0..1", defaultValue = "bash", description = "bash or zsh (default: ${DEFAULT-VALUE})") String shell;

    @Override
    public Integer call() {
      if (!shell.equals("bash") && !shell.equals("zsh")) {
        throw new CliException(ExitCodes.INVALID, "error: expected bash or zsh, got " + shell);
      }
      spec.commandLine().getOut().print(AutoComplete.bash("flightdeck", spec.root().commandLine()));
      return ExitCodes.OK;
    }
  }

  /** {@code flightdeck login}: save server and token to the config file. */
  @Command(name = "login", mixinStandardHelpOptions = true,
      description = "Check a server and token, then save them to the config file (mode 600).",
      footer = {"", "Example:", "  flightdeck login --server http://127.0.0.1:7070 --token fd_..."})
  static final class Login implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Option(names = "--server", required = true, paramLabel = "URL") String server;
    @Option(names = "--token", required = true, paramLabel = "TOKEN") String token;

    @Override
    public Integer call() throws IOException {
      String base = server.replaceAll("/+$", "");
      JsonNode me = new ApiClient(base, Optional.of(token)).get("/api/v1/whoami");
      var file = ClientConfig.file(Connection.env, Connection.home);
      ClientConfig.write(file, base, token);
      spec.commandLine().getOut().println("logged in to " + base + " as " + me.path("name").asText() + " ("
          + me.path("role").asText() + "); saved to " + file);
      return ExitCodes.OK;
    }
  }
}

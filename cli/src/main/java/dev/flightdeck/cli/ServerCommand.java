package dev.flightdeck.cli;

import dev.flightdeck.server.FlightdeckServer;
import dev.flightdeck.server.ServerOptions;
import dev.flightdeck.server.observability.LogSetup;
import dev.flightdeck.store.token.IssuedToken;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;
import java.util.logging.Level;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code flightdeck server}: runs the API on the embedded default or on PostgreSQL. */
@Command(name = "server", mixinStandardHelpOptions = true,
    description = {
        "Runs the Flightdeck server: the API and the gateway (the rollout controller joins in a later release).",
        "On first start it creates an admin token, prints it once, and saves it for the CLI."},
    footer = {"", "Examples:",
        "  flightdeck server                                   # SQLite in ./.flightdeck",
        "  flightdeck server --database-url 'jdbc:postgresql://127.0.0.1:5432/flightdeck?user=flightdeck'"})
public final class ServerCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = ".flightdeck",
      description = "Where the SQLite database and the audit signing key live (default: ${DEFAULT-VALUE}).")
  Path dataDir;

  @Option(names = "--database-url", paramLabel = "JDBC_URL", defaultValue = "${env:FLIGHTDECK_DATABASE_URL}",
      description = "Use PostgreSQL instead of SQLite, e.g. jdbc:postgresql://host:5432/db?user=u (env FLIGHTDECK_DATABASE_URL).")
  String databaseUrl;

  @Option(names = "--host", defaultValue = "127.0.0.1",
      description = "Address to listen on (default: ${DEFAULT-VALUE}; use 0.0.0.0 to expose it).")
  String host;

  @Option(names = {"-p", "--port"}, defaultValue = "7070", description = "API port (default: ${DEFAULT-VALUE}; 0 = any free port).")
  int port;

  @Option(names = "--gateway-port", defaultValue = "7080",
      description = "Gateway port, where agents are served at /agents/NAME/ (default: ${DEFAULT-VALUE}; 0 = any free port; -1 = no gateway).")
  int gatewayPort;

  @Option(names = "--log-format", defaultValue = "text", description = "text or json (one JSON object per line).")
  String logFormat;

  @Option(names = "--no-save-token", negatable = false,
      description = "Do not save the first admin token to the CLI config file.")
  boolean noSaveToken;

  @Override
  public Integer call() throws Exception {
    if (!logFormat.equals("text") && !logFormat.equals("json")) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "--log-format: expected text or json, got " + logFormat);
    }
    LogSetup.configure(logFormat.equals("json"), Level.INFO);
    Optional<String> url = Optional.ofNullable(databaseUrl).filter(s -> !s.isBlank());
    PrintWriter out = spec.commandLine().getOut();
    FlightdeckServer server = FlightdeckServer.start(new ServerOptions(dataDir, url, host, port, gatewayPort));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      stopped.countDown();
    }, "flightdeck-shutdown"));
    out.println("Flightdeck API listening on " + server.url() + "  (store: " + server.database().description() + ")");
    server.gatewayUrl().ifPresent(g -> out.println("Gateway serving agents at " + g + "/agents/NAME/"));
    server.initialAdminToken().ifPresent(t -> announce(out, t, server.url()));
    out.println("Stop with Ctrl-C.");
    out.flush();
    stopped.await();
    return 0;
  }

  private void announce(PrintWriter out, IssuedToken t, String serverUrl) {
    out.println();
    out.println("First start: created the admin token below. It is shown only this once;");
    out.println("Flightdeck keeps only its hash.");
    out.println();
    out.println("    " + t.secret());
    out.println();
    if (noSaveToken) {
      out.println("Use it with:  export FLIGHTDECK_TOKEN=<the token above>");
    } else {
      Path config = ClientConfig.file(Connection.env, Connection.home);
      if (Files.exists(config)) {
        out.println(config + " already exists and was left as it is. To use this server from the CLI:");
        out.println("    flightdeck login --server " + serverUrl + " --token <the token above>");
      } else {
        try {
          ClientConfig.write(config, serverUrl, t.secret());
          out.println("Saved it for the CLI in " + config + " (readable only by you).");
        } catch (IOException e) {
          out.println("Could not save it to " + config + " (" + e.getMessage() + "); use FLIGHTDECK_TOKEN.");
        }
      }
    }
    out.println();
  }

}

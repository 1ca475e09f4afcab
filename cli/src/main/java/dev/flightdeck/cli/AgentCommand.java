package dev.flightdeck.cli;

import dev.flightdeck.samples.triage.SupportTriageAgent;
import dev.flightdeck.samples.triage.TriageConfig;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code flightdeck agent}: sample agents to run behind Flightdeck. */
@Command(name = "agent", mixinStandardHelpOptions = true,
    description = "Runs sample agents that call their model through an OpenAI-compatible API.",
    subcommands = AgentCommand.SupportTriage.class)
public final class AgentCommand {

  /** {@code flightdeck agent support-triage}: one version of the support-triage agent. */
  @Command(name = "support-triage", mixinStandardHelpOptions = true,
      description = {"Serves POST /triage {\"ticket\": \"...\"} as the named AgentVersion of the resources file says",
          "(model, system prompt, spec.config), calling the model at --model-base-url with openai-java.",
          "The model key comes from FLIGHTDECK_MODEL_KEY, else OPENAI_API_KEY."},
      footer = {"", "Example:",
          "  FLIGHTDECK_MODEL_KEY=sim flightdeck agent support-triage --resources examples/support-triage.yaml \\",
          "      --version support-triage-v1 --port 9101 --model-base-url http://127.0.0.1:8089/v1",
          "  curl -s http://127.0.0.1:9101/triage -d '{\"ticket\": \"I was charged twice\"}'"})
  static final class SupportTriage implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--resources", paramLabel = "FILE", required = true,
        description = "Resources YAML holding the AgentVersion, e.g. examples/support-triage.yaml.")
    Path resources;

    @Option(names = "--version", paramLabel = "NAME", required = true, description = "The AgentVersion to run, e.g. support-triage-v2.")
    String version;

    @Option(names = {"-p", "--port"}, required = true, description = "Port on 127.0.0.1 (0 = any free port).")
    int port;

    @Option(names = "--model-base-url", paramLabel = "URL", defaultValue = "http://127.0.0.1:7080/v1",
        description = "OpenAI-compatible base URL (default: ${DEFAULT-VALUE}, the Flightdeck model gateway).")
    URI modelBaseUrl;

    @Override
    public Integer call() throws Exception {
      // Taken first, before the parent has a chance to die: an orphan's parent is init (PID 1), which never exits.
      Optional<ProcessHandle> parent = ProcessHandle.current().parent().filter(p -> p.pid() > 1);
      String key = Optional.ofNullable(Connection.env.get("FLIGHTDECK_MODEL_KEY")).filter(k -> !k.isBlank())
          .or(() -> Optional.ofNullable(Connection.env.get("OPENAI_API_KEY")).filter(k -> !k.isBlank()))
          .orElseThrow(() -> new CliException(ExitCodes.INVALID, List.of(
              "error: no model key: set FLIGHTDECK_MODEL_KEY (a virtual key from `flightdeck keys create "
                  + "agentversion/" + version + "`) or OPENAI_API_KEY (any value for the simulated LLM)")));
      TriageConfig config;
      try {
        config = TriageConfig.fromResources(resources, version, modelBaseUrl, key);
      } catch (RuntimeException e) {
        throw new CliException(ExitCodes.INVALID, List.of("error: " + e.getMessage()));
      }
      SupportTriageAgent agent = SupportTriageAgent.start(config, port);
      CountDownLatch stopped = new CountDownLatch(1);
      Runnable stop = () -> {
        agent.close();
        stopped.countDown();
      };
      Runtime.getRuntime().addShutdownHook(new Thread(stop, "support-triage-shutdown"));
      // A demo killed with -9 runs no shutdown hook: exit with the parent rather than linger as an orphan.
      parent.ifPresent(p -> p.onExit().thenRun(() -> {
        stop.run();
        System.exit(0);
      }));
      PrintWriter out = spec.commandLine().getOut();
      out.println("support-triage " + version + " listening on http://127.0.0.1:" + agent.port());
      out.flush();
      stopped.await();
      return 0;
    }
  }
}

package dev.flightdeck.cli;

import dev.flightdeck.sim.Scenario;
import dev.flightdeck.sim.SimulatedLlm;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code flightdeck sim}: simulators for local runs and tests. */
@Command(name = "sim", mixinStandardHelpOptions = true,
    description = "Runs simulators: an OpenAI-compatible model driven by a scenario file.",
    subcommands = SimCommand.Llm.class)
public final class SimCommand {

  /** {@code flightdeck sim llm}: the simulated LLM. */
  @Command(name = "llm", mixinStandardHelpOptions = true,
      description = {"Serves /v1/chat/completions, /v1/embeddings and /v1/models as a scenario says:",
          "replies chosen by pattern, latency from a distribution, usage, and faults on demand."},
      footer = {"", "Example:", "  flightdeck sim llm --port 8089 --scenario examples/sim/support-triage.yaml",
          "  curl -s http://127.0.0.1:8089/v1/models"})
  static final class Llm implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--scenario", paramLabel = "FILE", required = true, description = "The scenario (YAML).")
    Path scenario;

    @Option(names = {"-p", "--port"}, defaultValue = "8089", description = "Port (default: ${DEFAULT-VALUE}; 0 = any free port).")
    int port;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
    String host;

    @Override
    public Integer call() throws Exception {
      Scenario s;
      try {
        s = Scenario.read(scenario);
      } catch (RuntimeException e) {
        throw new CliException(ExitCodes.INVALID, java.util.List.of(e.getMessage()));
      }
      SimulatedLlm sim = SimulatedLlm.start(host, port, s);
      CountDownLatch stopped = new CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        sim.close();
        stopped.countDown();
      }, "flightdeck-sim-shutdown"));
      PrintWriter out = spec.commandLine().getOut();
      out.println("Simulated LLM serving " + String.join(", ", s.models()) + " at " + sim.baseUrl()
          + "  (scenario " + scenario + ", " + s.rules().size() + " rules)");
      out.println("Stop with Ctrl-C.");
      out.flush();
      stopped.await();
      return 0;
    }
  }
}

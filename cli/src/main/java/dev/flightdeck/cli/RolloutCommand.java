package dev.flightdeck.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Durations;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Kind;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code flightdeck rollout}: follow a rollout and steer it (promote, abort, retry, pause, resume, undo). */
@Command(name = "rollout", mixinStandardHelpOptions = true,
    description = "Shows a rollout's progress and analysis, and steers it.",
    subcommands = {RolloutCommand.Status.class, RolloutCommand.Describe.class, RolloutCommand.Promote.class,
        RolloutCommand.Abort.class, RolloutCommand.Retry.class, RolloutCommand.Pause.class, RolloutCommand.Resume.class,
        RolloutCommand.Undo.class},
    footer = {"", "Examples:", "  flightdeck rollout status support-triage-v2 --watch",
        "  flightdeck rollout describe support-triage-v2", "  flightdeck rollout promote support-triage-v2 --full",
        "  flightdeck rollout abort support-triage-v2 --reason \"latency regression seen by users\""})
final class RolloutCommand {

  /** The phases after which a rollout no longer changes by itself. */
  private static final List<String> TERMINAL = List.of("Promoted", "RolledBack", "Aborted", "Undone");

  static boolean terminal(String phase) {
    return TERMINAL.contains(phase);
  }

  /** The exit code of a watch that saw {@code phase}: 0 when promoted, 1 when rolled back, aborted or undone. */
  static int exitCode(String phase) {
    return phase.equals("Promoted") ? ExitCodes.OK : ExitCodes.FAILED;
  }

  /** The API path of a rollout, from NAME or rollout/NAME. */
  static String path(String name) {
    return Ref.named(Kind.ROLLOUT, name).path();
  }

  private static RolloutView view() {
    return RolloutView.of(Terminal.unicode());
  }

  /** {@code flightdeck rollout status}. */
  @Command(name = "status", mixinStandardHelpOptions = true,
      description = {"Shows a rollout: phase, weights, steps, the current analysis, draining versions.",
          "With --watch, follows it until it is promoted, rolled back, aborted or undone."},
      footer = {"", "Examples:", "  flightdeck rollout status support-triage-v2",
          "  flightdeck rollout status support-triage-v2 --watch --interval 5s",
          "", "Exit codes:", "  0  shown; with --watch: the rollout was promoted",
          "  1  with --watch: the rollout was rolled back, aborted or undone; or not found",
          "  2  invalid usage", "  3  the server could not be reached", "  4  authentication or authorization failed"})
  static final class Status implements Callable<Integer> {

    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Parameters(paramLabel = "NAME", description = "The rollout (NAME or rollout/NAME).")
    String name;

    @Option(names = {"-w", "--watch"}, description = "Redraw until the phase is terminal (Promoted, RolledBack, Aborted, Undone).")
    boolean watch;

    @Option(names = "--interval", paramLabel = "DURATION", defaultValue = "1s",
        description = "How often --watch asks the server (default: ${DEFAULT-VALUE}; at least 100ms).")
    String interval;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "text",
        description = "text, json or yaml (default: ${DEFAULT-VALUE}); json is the API's status as is (JSON Lines with --watch).")
    String output;

    @Override
    public Integer call() {
      String format = Output.choose(output, List.of("text", "json", "yaml", "yml"));
      if (watch && !List.of("text", "json").contains(format)) {
        throw new CliException(ExitCodes.INVALID, "error: --watch prints text or JSON lines; use -o text or -o json");
      }
      Duration every = every(interval);
      String path = path(name) + "/status";
      ApiClient client = connection.client();
      PrintWriter out = spec.commandLine().getOut();
      if (!watch) {
        JsonNode s = client.get(path);
        out.print(switch (format) {
          case "json" -> Json.writePretty(s) + "\n";
          case "yaml", "yml" -> Json.writeYaml(s);
          default -> view().at(Instant.now()).status(s);
        });
        return ExitCodes.OK;
      }
      return new Watch(client, path, out, format.equals("text") ? Watch.Mode.of(Terminal.isTerminal()) : Watch.Mode.JSON,
          every).run();
    }

    private static Duration every(String text) {
      Duration d;
      try {
        d = Durations.parse(text);
      } catch (IllegalArgumentException e) {
        throw new CliException(ExitCodes.INVALID, "error: --interval: " + e.getMessage());
      }
      if (d.compareTo(Duration.ofMillis(100)) < 0) {
        throw new CliException(ExitCodes.INVALID, "error: --interval must be at least 100ms, got " + text);
      }
      return d;
    }
  }

  /**
   * The --watch loop: asks for the status every interval until the phase is terminal. On a
   * terminal it redraws in place; elsewhere (pipes, CI logs) it prints a view only when it
   * changed, with absolute times, so a log holds one entry per change.
   */
  static final class Watch {

    enum Mode {
      REDRAW, CHANGES, JSON;

      static Mode of(boolean terminal) {
        return terminal ? REDRAW : CHANGES;
      }
    }

    private static final String CLEAR = "\033[H\033[2J";

    private final ApiClient client;
    private final String path;
    private final PrintWriter out;
    private final Mode mode;
    private final Duration every;

    Watch(ApiClient client, String path, PrintWriter out, Mode mode, Duration every) {
      this.client = client;
      this.path = path;
      this.out = out;
      this.mode = mode;
      this.every = every;
    }

    int run() {
      RolloutView view = view();
      Optional<String> last = Optional.empty();
      while (true) {
        JsonNode s = client.get(path);
        String phase = s.path("phase").asText("");
        boolean done = terminal(phase);
        switch (mode) {
          case REDRAW -> out.print(CLEAR + view.at(Instant.now()).status(s)
              + (done ? "" : "\n(every " + interval() + "; Ctrl-C to stop)\n"));
          case CHANGES, JSON -> {
            String text = mode == Mode.JSON ? Json.write(s) + "\n" : view.status(s);
            if (last.filter(text::equals).isEmpty()) {
              out.print((last.isPresent() && mode == Mode.CHANGES ? "\n" : "") + text);
              last = Optional.of(text);
            }
          }
        }
        out.flush();
        if (done) {
          return exitCode(phase);
        }
        try {
          Thread.sleep(every);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new CliException(ExitCodes.FAILED, "error: interrupted");
        }
      }
    }

    private String interval() {
      return every.toMillis() % 1000 == 0 ? every.toSeconds() + "s" : every.toMillis() + "ms";
    }
  }

  /** {@code flightdeck rollout describe}. */
  @Command(name = "describe", mixinStandardHelpOptions = true,
      description = "Shows a rollout's status and its decision log: every decision with its actor, reason and evidence.",
      footer = {"", "Example:", "  flightdeck rollout describe support-triage-v2 --limit 50"})
  static final class Describe implements Callable<Integer> {

    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Parameters(paramLabel = "NAME", description = "The rollout (NAME or rollout/NAME).")
    String name;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "100",
        description = "How many decisions to ask for (default: ${DEFAULT-VALUE}).")
    int limit;

    @Override
    public Integer call() {
      if (limit < 1) {
        throw new CliException(ExitCodes.INVALID, "error: --limit must be at least 1, got " + limit);
      }
      String path = path(name);
      ApiClient client = connection.client();
      JsonNode s = client.get(path + "/status");
      JsonNode decisions = client.get(path + "/decisions?limit=" + limit).path("items");
      RolloutView view = view().at(Instant.now());
      PrintWriter out = spec.commandLine().getOut();
      out.print(view.status(s));
      out.println();
      out.print(view.decisions(decisions));
      return ExitCodes.OK;
    }
  }

  /** A verb: POST /api/v1/rollouts/NAME/VERB, then one line with the new phase and step. */
  abstract static class Verb implements Callable<Integer> {

    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Parameters(paramLabel = "NAME", description = "The rollout (NAME or rollout/NAME).")
    String name;

    /** The verb as the API spells it. */
    abstract String verb();

    /** What the verb did, for the line printed after it. */
    abstract String done();

    /** The request body, when the verb has something to say. */
    Optional<ObjectNode> body() {
      return Optional.empty();
    }

    @Override
    public Integer call() {
      String path = path(name) + "/" + verb();
      ApiClient client = connection.client();
      Optional<ObjectNode> body = body();
      JsonNode s = client.post(path, body.isPresent() ? "application/json" : null,
          body.map(b -> Json.write(b).getBytes(StandardCharsets.UTF_8)).orElse(null));
      spec.commandLine().getOut().println(RolloutView.verbLine(name.substring(name.indexOf('/') + 1), done(), s));
      return ExitCodes.OK;
    }

    static Optional<ObjectNode> reason(String reason) {
      return Optional.ofNullable(reason).map(r -> Json.object().put("reason", r));
    }
  }

  /** {@code flightdeck rollout promote}. */
  @Command(name = "promote", mixinStandardHelpOptions = true,
      description = {"Skips the current step (a pause, an analysis still waiting) and moves on.",
          "With --full, skips every remaining step and sends all traffic to the candidate."},
      footer = {"", "Examples:", "  flightdeck rollout promote support-triage-v2",
          "  flightdeck rollout promote support-triage-v2 --full"})
  static final class Promote extends Verb {
    @Option(names = "--full", description = "Promote fully: skip every remaining step.")
    boolean full;

    @Override
    String verb() {
      return "promote";
    }

    @Override
    String done() {
      return full ? "promoted fully" : "promoted";
    }

    @Override
    Optional<ObjectNode> body() {
      return full ? Optional.of(Json.object().put("full", true)) : Optional.empty();
    }
  }

  /** {@code flightdeck rollout abort}. */
  @Command(name = "abort", mixinStandardHelpOptions = true,
      description = "Stops the rollout and sends all traffic back to the stable version.",
      footer = {"", "Example:", "  flightdeck rollout abort support-triage-v2 --reason \"complaints about tone\""})
  static final class Abort extends Verb {
    @Option(names = "--reason", paramLabel = "TEXT", description = "Why; recorded in the decision log.")
    String reason;

    @Override
    String verb() {
      return "abort";
    }

    @Override
    String done() {
      return "aborted";
    }

    @Override
    Optional<ObjectNode> body() {
      return reason(reason);
    }
  }

  /** {@code flightdeck rollout retry}. */
  @Command(name = "retry", mixinStandardHelpOptions = true,
      description = "Starts a rolled-back or aborted rollout again from its first step (a new attempt).",
      footer = {"", "Example:", "  flightdeck rollout retry support-triage-v2"})
  static final class Retry extends Verb {
    @Override
    String verb() {
      return "retry";
    }

    @Override
    String done() {
      return "retried";
    }
  }

  /** {@code flightdeck rollout pause}. */
  @Command(name = "pause", mixinStandardHelpOptions = true,
      description = "Holds the rollout at its current step and weights until resumed.",
      footer = {"", "Example:", "  flightdeck rollout pause support-triage-v2 --reason \"waiting for the support lead\""})
  static final class Pause extends Verb {
    @Option(names = "--reason", paramLabel = "TEXT", description = "Why; recorded in the decision log.")
    String reason;

    @Override
    String verb() {
      return "pause";
    }

    @Override
    String done() {
      return "paused";
    }

    @Override
    Optional<ObjectNode> body() {
      return reason(reason);
    }
  }

  /** {@code flightdeck rollout resume}. */
  @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resumes a paused rollout.",
      footer = {"", "Example:", "  flightdeck rollout resume support-triage-v2"})
  static final class Resume extends Verb {
    @Override
    String verb() {
      return "resume";
    }

    @Override
    String done() {
      return "resumed";
    }
  }

  /** {@code flightdeck rollout undo}. */
  @Command(name = "undo", mixinStandardHelpOptions = true,
      description = "Reverts a promoted rollout: traffic goes back to the version that was stable before it.",
      footer = {"", "Example:", "  flightdeck rollout undo support-triage-v2"})
  static final class Undo extends Verb {
    @Override
    String verb() {
      return "undo";
    }

    @Override
    String done() {
      return "undone";
    }
  }
}

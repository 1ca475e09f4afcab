package dev.flightdeck.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code flightdeck} command: entry point of the CLI and of the server. */
@Command(name = "flightdeck", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
    description = "Flightdeck: control plane and gateway for AI agents in production.",
    subcommands = {
        ServerCommand.class,
        SimCommand.class,
        AgentCommand.class,
        DemoCommand.class,
        EvalCommand.class,
        ApplyCommand.class,
        GetCommand.class,
        DescribeCommand.class,
        DeleteCommand.class,
        RolloutCommand.class,
        HistoryCommand.class,
        AuditCommand.class,
        TokenCommand.class,
        KeysCommand.class,
        BudgetCommand.class,
        SmallCommands.Login.class,
        SmallCommands.Whoami.class,
        SmallCommands.Version.class,
        SmallCommands.Completion.class},
    footer = {"", "Server and token: --server/--token, else FLIGHTDECK_SERVER/FLIGHTDECK_TOKEN,",
        "else ~/.flightdeck/config.yaml (FLIGHTDECK_CONFIG), else http://127.0.0.1:7070."})
public final class Main implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /**
   * When set to a process id, the CLI exits as soon as that process is gone: {@code flightdeck
   * demo} sets it for the processes it starts, so none outlives it, even after a {@code kill -9}.
   */
  static final String PARENT_PID_ENV = "FLIGHTDECK_PARENT_PID";

  /** Runs the CLI and exits with its exit code. */
  public static void main(String[] args) {
    exitWithParent(System.getenv(PARENT_PID_ENV));
    System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /** Runs the CLI with the given output streams and returns the exit code (for tests and embedding). */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cli = new CommandLine(new Main());
    cli.setOut(out);
    cli.setErr(err);
    cli.getCommandSpec().usageMessage().footer(concat(cli.getCommandSpec().usageMessage().footer(), ExitCodes.HELP));
    cli.setExitCodeExceptionMapper(e -> e instanceof CliException c ? c.exitCode() : ExitCodes.FAILED);
    cli.setParameterExceptionHandler((e, a) -> {
      e.getCommandLine().getErr().println("error: " + e.getMessage());
      e.getCommandLine().getErr().println("See '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
      return ExitCodes.INVALID;
    });
    cli.setExecutionExceptionHandler((e, c, parsed) -> {
      if (e instanceof CliException ce) {
        ce.lines().forEach(c.getErr()::println);
        return ce.exitCode();
      }
      c.getErr().println("error: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
      return ExitCodes.FAILED;
    });
    int code = cli.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  /** Exits (running the shutdown hooks) when the process {@code pid} ends; nothing when it is null or blank. */
  private static void exitWithParent(String pid) {
    if (pid == null || pid.isBlank()) {
      return;
    }
    long id;
    try {
      id = Long.parseLong(pid.strip());
    } catch (NumberFormatException e) {
      System.err.println("warning: " + PARENT_PID_ENV + " is not a process id: " + pid);
      return;
    }
    ProcessHandle.of(id).ifPresentOrElse(
        p -> p.onExit().thenRun(() -> System.exit(ExitCodes.FAILED)),
        () -> System.exit(ExitCodes.FAILED));
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  private static String[] concat(String[] a, String[] b) {
    String[] out = new String[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** Reports the build's version. */
  static final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"flightdeck " + (v == null ? "0.1.0-SNAPSHOT" : v)};
    }
  }
}

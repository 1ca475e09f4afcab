package dev.flightdeck.cli;

import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code flightdeck delete}: remove a resource (its history is kept). */
@Command(name = "delete", mixinStandardHelpOptions = true,
    description = {"Delete a resource. Its history is kept. Refused while other resources refer to it."},
    footer = {"", "Example:", "  flightdeck delete rollout support-triage-v2"})
final class DeleteCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin Connection connection;

  @Parameters(arity = "1..2", paramLabel = "KIND NAME", description = "e.g. rollout my-rollout, or rollout/my-rollout")
  List<String> args;

  @Option(names = "--resource-version", paramLabel = "N", description = "Delete only if the resource is still at this version.")
  Long resourceVersion;

  @Override
  public Integer call() {
    Ref ref = Ref.parse(args, true);
    connection.client().delete(ref.path() + (resourceVersion == null ? "" : "?resourceVersion=" + resourceVersion));
    spec.commandLine().getOut().println(ref.display() + " deleted");
    return ExitCodes.OK;
  }
}

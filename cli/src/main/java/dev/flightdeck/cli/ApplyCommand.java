package dev.flightdeck.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.resource.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code flightdeck apply -f}: create or update resources from files, a folder or stdin, atomically. */
@Command(name = "apply", mixinStandardHelpOptions = true,
    description = {"Create or update resources from YAML/JSON files, atomically: every file given is",
        "validated first, every error is reported, and nothing is applied unless all is valid."},
    footer = {"", "Examples:", "  flightdeck apply -f examples/", "  flightdeck apply -f agent.yaml -f versions.yaml --dry-run",
        "  cat agent.yaml | flightdeck apply -f -"})
final class ApplyCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin Connection connection;

  @Option(names = {"-f", "--filename"}, required = true, paramLabel = "PATH",
      description = "A file, a folder (its *.yaml, *.yml and *.json files), or - for stdin. Repeatable.")
  List<String> paths;

  @Option(names = {"-R", "--recursive"}, description = "Also read the folders inside the given folders.")
  boolean recursive;

  @Option(names = "--dry-run", description = "Validate and show what would change, without storing anything.")
  boolean dryRun;

  /** Standard input; replaced in tests. */
  static InputStream stdin = System.in;

  @Override
  public Integer call() {
    List<Path> files = new ArrayList<>();
    var body = Json.object();
    var arr = body.putArray("files");
    for (String p : paths) {
      if (p.equals("-")) {
        arr.addObject().put("name", "<stdin>").put("content", read(stdin, "<stdin>"));
        continue;
      }
      collect(Path.of(p), files);
    }
    for (Path f : files) {
      try {
        arr.addObject().put("name", f.toString()).put("content", Files.readString(f, StandardCharsets.UTF_8));
      } catch (java.nio.charset.MalformedInputException e) {
        throw new CliException(ExitCodes.INVALID, f + ": expected UTF-8 text, got bytes that are not valid UTF-8");
      } catch (IOException e) {
        throw new CliException(ExitCodes.INVALID, "error: cannot read " + f + ": " + e.getMessage());
      }
    }
    if (arr.isEmpty()) {
      throw new CliException(ExitCodes.INVALID, "error: no .yaml, .yml or .json files in " + String.join(", ", paths));
    }
    JsonNode result = connection.client().post("/api/v1/apply" + (dryRun ? "?dryRun=true" : ""),
        "application/vnd.flightdeck.files+json", Json.write(body).getBytes(StandardCharsets.UTF_8));
    PrintWriter out = spec.commandLine().getOut();
    for (JsonNode r : result.path("results")) {
      String change = switch (r.path("change").asText()) {
        case "updated" -> "configured";
        default -> r.path("change").asText();
      };
      out.println(r.path("ref").asText() + " " + change + (dryRun ? " (dry run)" : ""));
    }
    return ExitCodes.OK;
  }

  private void collect(Path p, List<Path> into) {
    if (Files.isRegularFile(p)) {
      into.add(p);
      return;
    }
    if (!Files.isDirectory(p)) {
      throw new CliException(ExitCodes.INVALID, "error: " + p + ": no such file or folder");
    }
    try (Stream<Path> s = recursive ? Files.walk(p) : Files.list(p)) {
      s.filter(Files::isRegularFile).filter(ApplyCommand::isResourceFile).sorted().forEach(into::add);
    } catch (IOException e) {
      throw new CliException(ExitCodes.INVALID, "error: cannot list " + p + ": " + e.getMessage());
    }
  }

  static boolean isResourceFile(Path p) {
    String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
    return n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json");
  }

  private static String read(InputStream in, String name) {
    try {
      byte[] b = in.readAllBytes();
      var decoder = StandardCharsets.UTF_8.newDecoder();
      return decoder.decode(java.nio.ByteBuffer.wrap(b)).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new CliException(ExitCodes.INVALID, name + ": expected UTF-8 text, got bytes that are not valid UTF-8");
    } catch (IOException e) {
      throw new CliException(ExitCodes.INVALID, "error: cannot read " + name + ": " + e.getMessage());
    }
  }
}

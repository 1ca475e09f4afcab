package dev.flightdeck.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Option;

/** The options every command that talks to the server shares. */
final class Connection {

  @Option(names = "--server", paramLabel = "URL", scope = picocli.CommandLine.ScopeType.INHERIT,
      description = "API base URL (env FLIGHTDECK_SERVER, config file, default http://127.0.0.1:7070).")
  String server;

  @Option(names = "--token", paramLabel = "TOKEN", scope = picocli.CommandLine.ScopeType.INHERIT,
      description = "Bearer token (env FLIGHTDECK_TOKEN, or the config file).")
  String token;

  @Option(names = "--token-file", paramLabel = "FILE", scope = picocli.CommandLine.ScopeType.INHERIT,
      description = "Read the bearer token from a file.")
  Path tokenFile;

  /** The environment and home directory; replaced in tests. */
  static Map<String, String> env = System.getenv();
  static Path home = Path.of(Optional.ofNullable(System.getenv("HOME")).filter(h -> !h.isBlank())
      .orElse(System.getProperty("user.home")));

  ApiClient client() {
    Optional<String> t = Optional.ofNullable(token);
    if (t.isEmpty() && tokenFile != null) {
      try {
        t = Optional.of(Files.readString(tokenFile).strip());
      } catch (java.io.IOException e) {
        throw new CliException(ExitCodes.INVALID, "error: cannot read --token-file " + tokenFile + ": " + e.getMessage());
      }
    }
    ClientConfig c = ClientConfig.resolve(Optional.ofNullable(server), t, env, home);
    c.warnings().forEach(System.err::println);
    return new ApiClient(c.server(), c.token());
  }
}

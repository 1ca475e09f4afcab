package dev.flightdeck.cli;

import dev.flightdeck.api.FlightdeckException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Where the CLI finds its server and token: flag, then environment ({@code FLIGHTDECK_SERVER},
 * {@code FLIGHTDECK_TOKEN}), then the config file ({@code FLIGHTDECK_CONFIG}, default
 * {@code ~/.flightdeck/config.yaml}, lines {@code server: URL} and {@code token: TOKEN}), then the
 * default server {@value #DEFAULT_SERVER}.
 *
 * @param server the API base URL
 * @param token the bearer token, if any was found
 * @param warnings things the user should know (e.g. a config file others can read)
 */
record ClientConfig(String server, Optional<String> token, java.util.List<String> warnings) {

  static final String DEFAULT_SERVER = "http://127.0.0.1:7070";

  /** The config file path for this environment and home directory. */
  static Path file(Map<String, String> env, Path home) {
    String override = env.get("FLIGHTDECK_CONFIG");
    return override != null && !override.isBlank() ? Path.of(override) : home.resolve(".flightdeck").resolve("config.yaml");
  }

  /** Resolves the server and token by the precedence above. */
  static ClientConfig resolve(Optional<String> serverFlag, Optional<String> tokenFlag, Map<String, String> env, Path home) {
    java.util.List<String> warnings = new java.util.ArrayList<>();
    Path file = file(env, home);
    Map<String, String> fromFile = read(file, warnings);
    String server = serverFlag.or(() -> nonBlank(env.get("FLIGHTDECK_SERVER")))
        .or(() -> nonBlank(fromFile.get("server"))).orElse(DEFAULT_SERVER);
    Optional<String> token = tokenFlag.or(() -> nonBlank(env.get("FLIGHTDECK_TOKEN")))
        .or(() -> nonBlank(fromFile.get("token")));
    return new ClientConfig(server.replaceAll("/+$", ""), token, warnings);
  }

  /** Writes the config file atomically with mode 600. */
  static void write(Path file, String server, String token) throws IOException {
    dev.flightdeck.api.auth.SecretFile.write(file, "# Written by flightdeck; holds a secret token: keep it private.\nserver: "
        + server + "\ntoken: " + token + "\n");
  }


  private static Map<String, String> read(Path file, java.util.List<String> warnings) {
    if (!Files.isRegularFile(file)) {
      return Map.of();
    }
    try {
      Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
      if (perms.contains(PosixFilePermission.GROUP_READ) || perms.contains(PosixFilePermission.OTHERS_READ)) {
        warnings.add("warning: " + file + " holds a token and is readable by others; run: chmod 600 " + file);
      }
    } catch (UnsupportedOperationException | IOException ignored) {
      // not a POSIX file system: nothing to check
    }
    Map<String, String> out = new java.util.HashMap<>();
    try {
      int n = 0;
      for (String line : Files.readAllLines(file)) {
        n++;
        String t = line.strip();
        if (t.isEmpty() || t.startsWith("#")) {
          continue;
        }
        int colon = t.indexOf(':');
        String key = colon < 0 ? "" : t.substring(0, colon).strip();
        if (!key.equals("server") && !key.equals("token")) {
          throw new CliException(ExitCodes.INVALID, file + ":" + n + ": expected `server: URL` or `token: TOKEN`, got \"" + t + "\"");
        }
        out.put(key, unquote(t.substring(colon + 1).strip()));
      }
    } catch (IOException e) {
      throw new FlightdeckException("cannot read " + file + ": " + e.getMessage(), e);
    }
    return out;
  }

  private static String unquote(String v) {
    if (v.length() >= 2 && (v.startsWith("\"") && v.endsWith("\"") || v.startsWith("'") && v.endsWith("'"))) {
      return v.substring(1, v.length() - 1);
    }
    return v;
  }

  private static Optional<String> nonBlank(String s) {
    return s == null || s.isBlank() ? Optional.empty() : Optional.of(s.strip());
  }
}

package dev.flightdeck.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.api.FlightdeckException;
import dev.flightdeck.api.audit.AuditExport;
import dev.flightdeck.api.audit.VerifyReport;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.PublicKey;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code flightdeck audit}: verify and export the tamper-evident audit log. */
@Command(name = "audit", mixinStandardHelpOptions = true, description = "Verify and export the audit log.",
    subcommands = {AuditCommand.Verify.class, AuditCommand.Export.class, AuditCommand.Key.class})
final class AuditCommand {

  /** {@code audit verify}: on the server, or offline on an export file. */
  @Command(name = "verify", mixinStandardHelpOptions = true,
      description = {"Recompute the hash chain and check the signed checkpoints. Exit 1 and name the",
          "first entry that does not match. With --file, verify an export offline (no server)."},
      footer = {"", "Examples:", "  flightdeck audit verify",
          "  flightdeck audit export -o audit.jsonl && flightdeck audit verify --file audit.jsonl --public-key key.txt"})
  static final class Verify implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Option(names = "--file", paramLabel = "EXPORT", description = "An export file to verify offline.")
    Path file;

    @Option(names = "--public-key", paramLabel = "FILE",
        description = "Accept only checkpoints signed by this key (base64, from `flightdeck audit key`).")
    Path publicKey;

    @Override
    public Integer call() throws IOException {
      PrintWriter out = spec.commandLine().getOut();
      if (file == null) {
        JsonNode r = connection.client().post("/api/v1/audit/verify", null, null);
        out.println(r.path("summary").asText());
        return r.path("ok").asBoolean() ? ExitCodes.OK : ExitCodes.FAILED;
      }
      Optional<PublicKey> trusted = Optional.empty();
      if (publicKey != null) {
        trusted = Optional.of(AuditExport.publicKey(Files.readString(publicKey)));
      }
      VerifyReport report;
      try (InputStream in = Files.newInputStream(file)) {
        report = AuditExport.verify(in, trusted);
      } catch (java.nio.file.NoSuchFileException e) {
        throw new CliException(ExitCodes.INVALID, "error: no such file " + file);
      } catch (FlightdeckException | IOException e) {
        throw new CliException(ExitCodes.INVALID, file + ": " + e.getMessage());
      }
      out.println(report + (trusted.isEmpty() ? " (checkpoint keys taken from the file; pin one with --public-key)" : ""));
      return report.ok() ? ExitCodes.OK : ExitCodes.FAILED;
    }
  }

  /** {@code audit export}: the whole log as a file that verifies offline. */
  @Command(name = "export", mixinStandardHelpOptions = true, description = "Write the whole audit log to a file (JSON Lines).")
  static final class Export implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write here instead of stdout.")
    Path output;

    @Override
    public Integer call() throws IOException {
      try (InputStream in = connection.client().stream("/api/v1/audit/export")) {
        if (output == null) {
          in.transferTo(System.out);
          System.out.flush();
        } else {
          Path tmp = output.resolveSibling(output.getFileName() + ".part");
          try (OutputStream out = Files.newOutputStream(tmp)) {
            in.transferTo(out);
          }
          Files.move(tmp, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
          spec.commandLine().getErr().println("wrote " + output);
        }
      }
      return ExitCodes.OK;
    }
  }

  /** {@code audit key}: the server's checkpoint signing key, to pin offline. */
  @Command(name = "key", mixinStandardHelpOptions = true, description = "Print the public key that signs checkpoints (base64).")
  static final class Key implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Connection connection;

    @Override
    public Integer call() {
      spec.commandLine().getOut().println(connection.client().get("/api/v1/audit/key").path("publicKey").asText());
      return ExitCodes.OK;
    }
  }
}

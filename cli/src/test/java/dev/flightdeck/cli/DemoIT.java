package dev.flightdeck.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code flightdeck demo} as a user runs it: the packaged CLI jar as a process, which starts the
 * server, the simulated LLM and the sample agents as its own children. The story must happen as
 * the README tells it, and no process the demo started may outlive it, whether it ends by
 * {@code --exit} or by a signal.
 */
class DemoIT {

  private static final Path JAR = Path.of("target", "flightdeck.jar");
  private static final Path EXAMPLES = Path.of("..", "examples").toAbsolutePath().normalize();

  @TempDir Path dir;
  private Process demo;

  @AfterEach
  void stop() throws Exception {
    if (demo != null && demo.isAlive()) {
      demo.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    // Whatever a failed test left behind: never leave processes on the machine.
    processesUnder(dir).forEach(ProcessHandle::destroyForcibly);
  }

  @Test
  void promotesV2_rollsBackV3WithEvidence_andLeavesNoProcessBehind() throws Exception {
    Path home = dir.resolve("demo");
    demo = start("demo", "--exit", "--dir", home.toString(), "--examples", EXAMPLES.toString());
    CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> readAll(demo));

    boolean exited = demo.waitFor(150, TimeUnit.SECONDS);
    String out = output.get(10, TimeUnit.SECONDS);

    assertThat(exited).as("the demo ends within 150 s:\n" + out).isTrue();
    assertThat(demo.exitValue()).as(out).isZero();
    assertThat(out).as(out)
        .containsPattern("eval gate on support-triage-v2 .*✓ passed")
        .contains("✓ support-triage-v2 promoted")
        .containsPattern("eval gate on support-triage-v3 .*✗ failed")
        .contains("✗ support-triage-v3 rolled back: its eval gate failed")
        .contains("✗ support-triage-v3 rolled back automatically")
        .containsPattern("(errorRate|tokensPerRequest)\\s+fail\\s+canary")
        .contains("sessions halted as runaway loops", "story over", "Stopped every process the demo started");
    assertThat(Files.readString(home.resolve("config.yaml"))).contains("token: fd_");
    assertThat(processesUnder(home)).as("processes the demo started are all gone").isEmpty();
  }

  @Test
  void aSignalStopsEveryProcessTheDemoStarted() throws Exception {
    Path home = dir.resolve("demo");
    demo = start("demo", "--dir", home.toString(), "--examples", EXAMPLES.toString());
    List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
    Thread reader = Thread.ofVirtual().start(() -> readLines(demo, lines));
    Awaitility.await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
        .until(() -> lines.stream().anyMatch(l -> l.contains("agents ready")) || !demo.isAlive());
    assertThat(demo.isAlive()).as(String.join("\n", lines)).isTrue();
    assertThat(processesUnder(home)).as("the server, the simulated LLM and the agents run").hasSizeGreaterThanOrEqualTo(5);

    demo.toHandle().destroy(); // SIGTERM, which runs the same shutdown hook as Ctrl-C; Process.destroy would close its output

    assertThat(demo.waitFor(30, TimeUnit.SECONDS)).isTrue();
    reader.join(Duration.ofSeconds(5));
    assertThat(String.join("\n", lines)).contains("Stopping the demo's", "Stopped.");
    assertThat(processesUnder(home)).as("processes the demo started are all gone").isEmpty();
  }

  private static Process start(String... args) throws IOException {
    assertThat(JAR).as("the CLI jar is built by `package`, before the integration tests").exists();
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-Dstdout.encoding=UTF-8", "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"),
        "-jar", JAR.toString()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectErrorStream(true).start();
  }

  /** Live processes whose command line names a path under {@code dir}: the ones a demo there started. */
  private static List<ProcessHandle> processesUnder(Path dir) {
    String d = dir.toAbsolutePath().toString();
    return ProcessHandle.allProcesses().filter(ProcessHandle::isAlive)
        .filter(p -> p.pid() != ProcessHandle.current().pid())
        .filter(p -> p.info().commandLine().or(() -> p.info().arguments().map(a -> String.join(" ", a)))
            .map(c -> c.contains(d)).orElse(false))
        .toList();
  }

  private static String readAll(Process p) {
    try {
      return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(cannot read the demo's output: " + e.getMessage() + ")";
    }
  }

  private static void readLines(Process p, List<String> into) {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String l = r.readLine(); l != null; l = r.readLine()) {
        into.add(l);
      }
    } catch (IOException e) {
      into.add("(read failed: " + e.getMessage() + ")");
    }
  }
}

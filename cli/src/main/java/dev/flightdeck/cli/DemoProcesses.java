package dev.flightdeck.cli;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * The demo's child processes: the server, the simulated LLM and the agents, each the same JDK
 * and the same jar (or class path) as the running CLI, each writing to its own log file.
 *
 * <p>Every child gets {@code FLIGHTDECK_PARENT_PID}, so it exits when the demo does, however the
 * demo ends ({@code kill -9} included; see {@link Main}). {@link #close} stops them all: SIGTERM to
 * each child and its descendants, then SIGKILL to whatever is left after a grace period. It is
 * idempotent, so the shutdown hook and the normal end may both call it.
 */
final class DemoProcesses implements AutoCloseable {

  /** A child: what it is, its process, its log. */
  record Child(String name, Process process, Path log) {}

  private static final int GRACE_SECONDS = 5;
  private static final Duration GRACE = Duration.ofSeconds(GRACE_SECONDS);

  private final Path logs;
  private final List<String> launcher;
  private final List<Child> children = new CopyOnWriteArrayList<>();

  DemoProcesses(Path logs, List<String> launcher) {
    this.logs = logs;
    this.launcher = List.copyOf(launcher);
  }

  /**
   * The command that runs the CLI as the current process does: this JDK's {@code java}, then
   * {@code -jar} the CLI jar, or {@code -cp} the class path and the main class when the CLI runs
   * from classes (an IDE, a test).
   */
  static List<String> launcher() {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        // sqlite-jdbc loads a native library; C1 only and the serial collector: these JVMs are
        // short-lived and share two cores, so compiling less and collecting on one thread leaves
        // more CPU for the work itself.
        "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
        "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir")));
    Path code;
    try {
      code = Path.of(DemoCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException | RuntimeException e) {
      code = Path.of("");
    }
    if (Files.isRegularFile(code)) {
      cmd.addAll(List.of("-jar", code.toString()));
    } else {
      cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
    }
    return cmd;
  }

  /** Starts {@code flightdeck ARGS...} as a child named {@code name}, its output in {@code logs/NAME.log}. */
  Child start(String name, List<String> args, Map<String, String> env) {
    Path log = logs.resolve(name + ".log");
    List<String> cmd = new ArrayList<>(launcher);
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(nullDevice()));
    pb.environment().putAll(env);
    pb.environment().put(Main.PARENT_PID_ENV, Long.toString(ProcessHandle.current().pid()));
    try {
      Files.createDirectories(logs);
      Child c = new Child(name, pb.start(), log);
      children.add(c);
      return c;
    } catch (IOException e) {
      throw new CliException(ExitCodes.FAILED, "error: cannot start " + name + " (" + String.join(" ", cmd) + "): "
          + e.getMessage());
    }
  }

  /**
   * Waits until {@code ready} says so, asking every 100 ms; fails with the child's exit code or
   * the timeout, and the last lines of its log, when it does not get there.
   */
  void awaitReady(Child c, String what, Duration timeout, BooleanSupplier ready) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      if (ready.getAsBoolean()) {
        return;
      }
      if (!c.process().isAlive()) {
        throw failure(c, c.name() + " exited with code " + c.process().exitValue() + " before " + what);
      }
      if (System.nanoTime() > deadline) {
        throw failure(c, c.name() + " was not " + what + " after " + timeout.toSeconds() + "s");
      }
      sleep(Duration.ofMillis(100));
    }
  }

  /** The children started so far. */
  List<Child> children() {
    return List.copyOf(children);
  }

  /** The last {@code n} lines of a child's log. */
  static List<String> tail(Path log, int n) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return lines.subList(Math.max(0, lines.size() - n), lines.size());
    } catch (IOException | RuntimeException e) {
      return List.of("(cannot read " + log + ": " + e.getMessage() + ")");
    }
  }

  private static CliException failure(Child c, String what) {
    List<String> lines = new ArrayList<>();
    lines.add("error: " + what + "; the last lines of " + c.log() + ":");
    tail(c.log(), 15).forEach(l -> lines.add("    " + l));
    return new CliException(ExitCodes.FAILED, lines);
  }

  /**
   * Stops every child and its descendants: SIGTERM, then SIGKILL after {@value #GRACE_SECONDS}
   * seconds to any that did not exit.
   */
  @Override
  public synchronized void close() {
    List<ProcessHandle> all = new ArrayList<>();
    for (Child c : children) {
      c.process().descendants().forEach(all::add);
      all.add(c.process().toHandle());
    }
    children.clear();
    all.removeIf(h -> !h.isAlive());
    all.forEach(ProcessHandle::destroy);
    awaitExit(all, GRACE);
    all.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    awaitExit(all, Duration.ofSeconds(2));
  }

  private static void awaitExit(List<ProcessHandle> handles, Duration within) {
    long deadline = System.nanoTime() + within.toNanos();
    for (ProcessHandle h : handles) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return;
      }
      try {
        h.onExit().get(left, TimeUnit.NANOSECONDS);
      } catch (TimeoutException | ExecutionException e) {
        return;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private static java.io.File nullDevice() {
    return new java.io.File(System.getProperty("os.name").startsWith("Windows") ? "NUL" : "/dev/null");
  }

  static void sleep(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCodes.FAILED, "error: interrupted");
    }
  }
}

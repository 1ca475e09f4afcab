package dev.flightdeck.bench.models;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * CPU time used by groups of processes, from Linux's {@code /proc}: each group is a list of
 * process ids, or every process of a command name (PostgreSQL's backends), and "machine" is every
 * CPU of the machine, whoever used it. Reads user plus system time in clock ticks (USER_HZ, 100
 * on Linux), so a phase of tens of seconds measures it to a fraction of a percent. Elsewhere than
 * Linux, it measures nothing.
 */
final class CpuMeter {

  /** Clock ticks per second of /proc's times: USER_HZ, 100 on every Linux architecture in use. */
  private static final double TICKS_PER_SECOND = 100;

  /** Processes named by id ({@code 123}, {@code self}) or by command name ({@code comm:postgres}). */
  private final Map<String, List<String>> groups = new LinkedHashMap<>();

  /** Adds a group, from {@code NAME=SPEC[,SPEC...]}. */
  void add(String definition) {
    int eq = definition.indexOf('=');
    if (eq <= 0) {
      throw new IllegalArgumentException("--cpu: expected NAME=PID[,PID...] or NAME=comm:COMMAND, got " + definition);
    }
    groups.put(definition.substring(0, eq), List.of(definition.substring(eq + 1).split(",")));
  }

  /** The group names, in the order added, then "machine". */
  List<String> names() {
    return Stream.concat(groups.keySet().stream(), Stream.of("machine")).toList();
  }

  /** CPU seconds used so far by each group, and by the whole machine. */
  Map<String, Double> sample() {
    Map<String, Double> out = new LinkedHashMap<>();
    for (var g : groups.entrySet()) {
      long ticks = 0;
      for (String spec : g.getValue()) {
        if (spec.startsWith("comm:")) {
          ticks += byCommand(spec.substring(5));
        } else {
          ticks += ticks(Path.of("/proc", spec.strip(), "stat"));
        }
      }
      out.put(g.getKey(), ticks / TICKS_PER_SECOND);
    }
    out.put("machine", machineTicks() / TICKS_PER_SECOND);
    return out;
  }

  private static long byCommand(String command) {
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      return procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
          .mapToLong(p -> {
            String stat = read(p.resolve("stat"));
            int open = stat.indexOf('(');
            int close = stat.lastIndexOf(')');
            return open >= 0 && close > open && stat.substring(open + 1, close).equals(command) ? ticks(stat) : 0;
          }).sum();
    } catch (IOException e) {
      return 0;
    }
  }

  private static long ticks(Path stat) {
    return ticks(read(stat));
  }

  /** utime + stime: fields 14 and 15 of /proc/PID/stat, counted after the command's closing parenthesis. */
  private static long ticks(String stat) {
    int close = stat.lastIndexOf(')');
    if (close < 0) {
      return 0;
    }
    String[] f = stat.substring(close + 2).split(" ");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  /** Every CPU's busy time (all but idle and iowait), from the first line of /proc/stat. */
  private static long machineTicks() {
    String all = read(Path.of("/proc/stat"));
    if (!all.startsWith("cpu ")) {
      return 0;
    }
    String[] f = all.substring(4, all.indexOf('\n')).strip().split("\\s+");
    long busy = 0;
    for (int i = 0; i < Math.min(f.length, 8); i++) {
      if (i != 3 && i != 4) { // idle, iowait
        busy += Long.parseLong(f[i]);
      }
    }
    return busy;
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }
}

package dev.flightdeck.server.observability;

import dev.flightdeck.api.resource.Json;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Routes all logging (System.Logger in our code; SLF4J from Jetty, HikariCP and Flyway through
 * slf4j-jdk14) to one java.util.logging handler on stderr, as plain lines or one JSON object per
 * line. Only the server and CLI call this: library code never configures logging.
 */
public final class LogSetup {

  /** JUL holds loggers weakly: keep the ones whose level we set, or the setting is lost. */
  private static final java.util.List<Logger> QUIETED = new java.util.ArrayList<>();

  private LogSetup() {}

  /** Installs the handler; {@code json} selects JSON lines. */
  public static void configure(boolean json, Level level) {
    LogManager.getLogManager().reset();
    Logger root = Logger.getLogger("");
    ConsoleHandler handler = new ConsoleHandler();
    handler.setLevel(Level.ALL);
    handler.setFormatter(json ? new JsonFormatter() : new TextFormatter());
    root.addHandler(handler);
    root.setLevel(level);
    for (String noisy : new String[] {"org.eclipse.jetty", "com.zaxxer.hikari", "org.flywaydb", "io.javalin"}) {
      Logger l = Logger.getLogger(noisy);
      l.setLevel(Level.WARNING);
      QUIETED.add(l);
    }
  }

  private static String thrown(LogRecord r) {
    if (r.getThrown() == null) {
      return "";
    }
    StringWriter sw = new StringWriter();
    r.getThrown().printStackTrace(new PrintWriter(sw));
    return sw.toString();
  }

  private static final class TextFormatter extends Formatter {
    @Override
    public String format(LogRecord r) {
      String t = thrown(r);
      return Instant.ofEpochMilli(r.getMillis()) + " " + r.getLevel().getName() + " "
          + shortName(r.getLoggerName()) + " - " + formatMessage(r) + System.lineSeparator()
          + (t.isEmpty() ? "" : t);
    }
  }

  private static final class JsonFormatter extends Formatter {
    @Override
    public String format(LogRecord r) {
      var n = Json.object()
          .put("time", Instant.ofEpochMilli(r.getMillis()).toString())
          .put("level", r.getLevel().getName())
          .put("logger", r.getLoggerName())
          .put("message", formatMessage(r));
      String t = thrown(r);
      if (!t.isEmpty()) {
        n.put("error", t);
      }
      return Json.write(n) + System.lineSeparator();
    }
  }

  private static String shortName(String logger) {
    if (logger == null) {
      return "";
    }
    int dot = logger.lastIndexOf('.');
    return dot < 0 ? logger : logger.substring(dot + 1);
  }
}

package dev.flightdeck.api.resource;

import com.cronutils.model.Cron;
import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import java.time.ZonedDateTime;
import java.util.Optional;

/**
 * Cron schedules: five fields (minute hour day-of-month month day-of-week, as in crontab) or six
 * with seconds first (for short intervals such as {@code *}{@code /30 * * * * *}). Times are UTC.
 */
public final class Schedules {

  private static final CronParser UNIX = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));
  private static final CronParser WITH_SECONDS = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.SPRING53));

  private Schedules() {}

  /** Parses a schedule. @throws IllegalArgumentException saying what is wrong */
  public static ExecutionTime parse(String expression) {
    String e = expression.strip();
    int fields = e.isEmpty() ? 0 : e.split("\\s+").length;
    if (fields != 5 && fields != 6) {
      throw new IllegalArgumentException("expected a cron expression of 5 fields (minute hour day month weekday, e.g. "
          + "\"*/15 * * * *\") or 6 with seconds first, got " + fields + " field(s)");
    }
    try {
      Cron cron = (fields == 5 ? UNIX : WITH_SECONDS).parse(e);
      cron.validate();
      return ExecutionTime.forCron(cron);
    } catch (RuntimeException x) {
      throw new IllegalArgumentException("invalid cron expression \"" + e + "\": " + x.getMessage(), x);
    }
  }

  /** The first time the schedule fires strictly after {@code after}. */
  public static Optional<ZonedDateTime> next(ExecutionTime schedule, ZonedDateTime after) {
    return schedule.nextExecution(after);
  }
}

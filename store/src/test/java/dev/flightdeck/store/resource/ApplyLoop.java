package dev.flightdeck.store.resource;

import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.parse.ResourceReader;
import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.audit.AuditLog;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;

/**
 * The victim of {@link CrashSafetyIT}: applies batches of {@value #RESOURCES} agents forever,
 * every agent of round k carrying k in its annotation, description and a large config blob, and
 * prints each committed round. Arguments: data dir, then optionally a PostgreSQL URL.
 */
public final class ApplyLoop {

  static final int RESOURCES = 5;
  static final int BLOB = 64 * 1024;

  private ApplyLoop() {}

  /** Runs until killed. */
  public static void main(String[] args) {
    Database db = Database.open(args.length > 1 ? Optional.of(args[1]) : Optional.empty(), Path.of(args[0]));
    AuditLog audit = new AuditLog(db);
    ResourceStore store = new ResourceStore(db, audit, Clock.systemUTC());
    ResourceReader reader = new ResourceReader();
    int round = store.get(Kind.AGENT, "crash-0")
        .map(r -> Integer.parseInt(r.metadata().annotations().get("round"))).orElse(0);
    while (true) {
      round++;
      store.apply(reader.read(ResourceReader.Source.of("loop.yaml", batch(round))), Principal.SYSTEM, false);
      System.out.println("round " + round);
      System.out.flush();
    }
  }

  static String batch(int round) {
    StringBuilder sb = new StringBuilder();
    String blob = Integer.toString(round).repeat(BLOB / Integer.toString(round).length());
    for (int i = 0; i < RESOURCES; i++) {
      sb.append("---\napiVersion: flightdeck.dev/v1alpha1\nkind: Agent\nmetadata:\n  name: crash-").append(i)
          .append("\n  annotations: {round: \"").append(round).append("\"}\nspec:\n  description: round ")
          .append(round).append("\n  owner: \"").append(blob.substring(0, 200)).append("\"\n");
    }
    return sb.toString();
  }
}

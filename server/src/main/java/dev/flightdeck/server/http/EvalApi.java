package dev.flightdeck.server.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.store.eval.EvalRunStore;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.time.Instant;

/** The stored results of an EvalSuite's scheduled runs (viewers). */
final class EvalApi {

  private final EvalRunStore runs;

  EvalApi(EvalRunStore runs) {
    this.runs = runs;
  }

  void register(RoutesConfig r) {
    r.get("/api/v1/evalsuites/{name}/runs", this::list, Access.VIEWER);
  }

  private void list(Context ctx) {
    int limit = (int) Math.max(1, Math.min(Requests.longParam(ctx, "limit", 20), 1000));
    ObjectNode body = Json.object();
    ArrayNode items = body.putArray("items");
    for (EvalRunStore.Row row : runs.list(ctx.pathParam("name"), limit)) {
      ObjectNode n = items.addObject().put("suite", row.suite())
          .put("scheduledAt", Instant.ofEpochMilli(row.scheduledAt()).toString())
          .put("replica", row.replica()).put("state", row.state());
      row.finishedAt().ifPresent(f -> n.put("finishedAt", Instant.ofEpochMilli(f).toString()));
      row.pass1().ifPresent(p -> n.put("pass1", p));
      row.ciLow().ifPresent(p -> n.put("ciLow", p));
      row.ciHigh().ifPresent(p -> n.put("ciHigh", p));
      row.runs().ifPresent(p -> n.put("runs", p));
      row.gatePassed().ifPresent(p -> n.put("gatePassed", p));
      row.summary().ifPresent(s -> n.set("summary", Json.read(s)));
    }
    ResourceApi.json(ctx, 200, body);
  }
}

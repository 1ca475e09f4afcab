package dev.flightdeck.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.rollout.controller.RolloutController;
import dev.flightdeck.store.rollout.RolloutStore;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Supplier;

/** A rollout's live status, its decisions with their evidence, and the manual verbs. */
final class RolloutApi {

  /** Largest body a verb takes ({@code {"full": true}}, {@code {"reason": "..."}}). */
  private static final int MAX_BODY = 4096;

  private final Supplier<Optional<RolloutController>> controller;

  RolloutApi(Supplier<Optional<RolloutController>> controller) {
    this.controller = controller;
  }

  void register(RoutesConfig r) {
    r.get("/api/v1/rollouts/{name}/status", ctx -> ResourceApi.json(ctx, 200, controller().status(ctx.pathParam("name"))),
        Access.VIEWER);
    r.get("/api/v1/rollouts/{name}/decisions", this::decisions, Access.VIEWER);
    for (String verb : RolloutController.VERBS) {
      r.post("/api/v1/rollouts/{name}/" + verb, ctx -> command(ctx, verb), Access.OPERATOR);
    }
  }

  private RolloutController controller() {
    return controller.get().orElseThrow(() -> HttpProblem.unavailable("the rollout controller is not running yet"));
  }

  private void decisions(Context ctx) {
    int limit = (int) Math.max(1, Math.min(Requests.longParam(ctx, "limit", 1000), 10_000));
    ObjectNode body = Json.object();
    ArrayNode items = body.putArray("items");
    for (RolloutStore.Decision d : controller().decisions(ctx.pathParam("name"), limit)) {
      ObjectNode n = items.addObject().put("seq", d.seq()).put("at", Instant.ofEpochMilli(d.at()).toString())
          .put("actor", d.actor()).put("action", d.action()).put("attempt", d.attempt()).put("step", d.step())
          .put("phase", d.phase()).put("reason", d.reason());
      d.evidence().ifPresent(e -> n.set("evidence", Json.read(e)));
    }
    ResourceApi.json(ctx, 200, body);
  }

  private void command(Context ctx, String verb) {
    JsonNode body = Requests.optionalJsonObject(ctx, MAX_BODY, "{\"full\": true} or {\"reason\": \"...\"}");
    if (body.has("full") && !body.get("full").isBoolean()) {
      throw HttpProblem.badRequest("full: expected true or false, got " + body.get("full"));
    }
    if (body.has("reason") && (!body.get("reason").isTextual() || body.get("reason").asText().length() > 1024)) {
      throw HttpProblem.badRequest("reason: expected a string of at most 1024 characters");
    }
    ResourceApi.json(ctx, 200, controller().command(ctx.pathParam("name"), verb, Requests.principal(ctx), body));
  }
}

package dev.flightdeck.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.auth.Role;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.store.token.ApiToken;
import dev.flightdeck.store.token.IssuedToken;
import dev.flightdeck.store.token.TokenStore;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;

/** Issue, list and revoke API tokens (admins only). */
final class TokenApi {

  private final TokenStore tokens;

  TokenApi(TokenStore tokens) {
    this.tokens = tokens;
  }

  void register(RoutesConfig r) {
    r.post("/api/v1/tokens", this::create, Access.ADMIN);
    r.get("/api/v1/tokens", this::list, Access.ADMIN);
    r.delete("/api/v1/tokens/{id}", this::revoke, Access.ADMIN);
  }

  private void create(Context ctx) {
    JsonNode body;
    try {
      body = Json.mapper().readTree(ctx.bodyAsBytes());
    } catch (java.io.IOException e) {
      throw HttpProblem.badRequest("expected a JSON object {\"name\": string, \"role\": viewer|operator|admin}");
    }
    if (body == null || !body.path("name").isTextual() || body.path("name").asText().isBlank()
        || body.path("name").asText().length() > 128) {
      throw HttpProblem.badRequest("name: expected a string of 1 to 128 characters");
    }
    Role role = Role.parse(body.path("role").asText("")).orElseThrow(() ->
        HttpProblem.badRequest("role: expected viewer, operator or admin, got " + body.path("role")));
    IssuedToken issued = tokens.create(body.get("name").asText(), role, Requests.principal(ctx));
    ObjectNode out = describe(issued.token());
    out.put("token", issued.secret());
    ctx.header("Cache-Control", "no-store");
    ResourceApi.json(ctx, 201, out);
  }

  private void list(Context ctx) {
    ObjectNode out = Json.object();
    ArrayNode items = out.putArray("items");
    tokens.list().forEach(t -> items.add(describe(t)));
    ResourceApi.json(ctx, 200, out);
  }

  private void revoke(Context ctx) {
    tokens.revoke(ctx.pathParam("id"), Requests.principal(ctx));
    ctx.status(204);
  }

  private static ObjectNode describe(ApiToken t) {
    ObjectNode n = Json.object().put("id", t.id()).put("name", t.name()).put("role", t.role().id())
        .put("createdAt", t.createdAt().toString()).put("createdBy", t.createdBy());
    t.revokedAt().ifPresent(at -> n.put("revokedAt", at.toString()));
    return n;
  }
}

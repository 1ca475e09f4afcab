package dev.flightdeck.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.NotFoundException;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.api.resource.Resource;
import dev.flightdeck.store.key.IssuedModelKey;
import dev.flightdeck.store.key.ModelKey;
import dev.flightdeck.store.key.ModelKeyStore;
import dev.flightdeck.store.resource.ResourceStore;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.Iterator;
import java.util.List;

/**
 * Issue, list and revoke the virtual model keys agents call models with through the gateway.
 *
 * @param resources where the AgentVersion a key is for is looked up
 * @param keys the keys
 */
record ModelKeyApi(ResourceStore resources, ModelKeyStore keys) {

  /** Largest body create takes ({@code {"name": "..."}}). */
  private static final int MAX_BODY = 4096;
  private static final String EXAMPLE = "{\"name\": \"staging\"}";

  void register(RoutesConfig r) {
    r.post("/api/v1/agentversions/{name}/keys", this::create, Access.OPERATOR);
    r.get("/api/v1/agentversions/{name}/keys", this::list, Access.VIEWER);
    r.delete("/api/v1/modelkeys/{id}", this::revoke, Access.OPERATOR);
  }

  private void create(Context ctx) {
    String version = ctx.pathParam("name");
    ObjectNode body = Requests.optionalJsonObject(ctx, MAX_BODY, EXAMPLE);
    for (Iterator<String> fields = body.fieldNames(); fields.hasNext(); ) {
      String f = fields.next();
      if (!f.equals("name")) {
        throw HttpProblem.badRequest(f + ": unknown field; the body takes only \"name\", e.g. " + EXAMPLE);
      }
    }
    JsonNode name = body.path("name");
    if (!name.isMissingNode() && (!name.isTextual() || name.asText().isBlank() || name.asText().length() > 128)) {
      throw HttpProblem.badRequest("name: expected a string of 1 to 128 characters, got "
          + (name.isTextual() ? name.asText().length() + " characters" : name.toString()));
    }
    Resource v = resources.get(Kind.AGENT_VERSION, version).orElseThrow(() -> notFound(version));
    IssuedModelKey issued = keys.create(v.spec().path("agent").asText(), version, name.asText("default"),
        Requests.principal(ctx));
    ObjectNode out = describe(issued.key());
    out.put("key", issued.secret());
    ctx.header("Cache-Control", "no-store");
    ResourceApi.json(ctx, 201, out);
  }

  private void list(Context ctx) {
    String version = ctx.pathParam("name");
    List<ModelKey> found = keys.list(version);
    // Keys outlive a deleted version: still listed, so they can be found and revoked.
    if (found.isEmpty() && resources.get(Kind.AGENT_VERSION, version).isEmpty()) {
      throw notFound(version);
    }
    ObjectNode out = Json.object();
    ArrayNode items = out.putArray("items");
    found.forEach(k -> items.add(describe(k)));
    ResourceApi.json(ctx, 200, out);
  }

  private void revoke(Context ctx) {
    ResourceApi.json(ctx, 200, describe(keys.revoke(ctx.pathParam("id"), Requests.principal(ctx))));
  }

  private static NotFoundException notFound(String version) {
    return new NotFoundException("agentversion/" + version + " does not exist (see `flightdeck get agentversions`)");
  }

  private static ObjectNode describe(ModelKey k) {
    ObjectNode n = Json.object().put("id", k.id()).put("name", k.name()).put("agent", k.agent())
        .put("version", k.version()).put("prefix", k.prefix()).put("createdAt", k.createdAt().toString())
        .put("createdBy", k.createdBy());
    if (!k.live()) {
      n.put("revokedAt", k.revokedAt().toString());
    }
    return n;
  }
}

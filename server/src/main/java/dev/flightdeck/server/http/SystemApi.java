package dev.flightdeck.server.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.NotFoundException;
import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.parse.ResourceReader;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.server.observability.ServerMetrics;
import dev.flightdeck.store.Database;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.InputStream;

/** Health, readiness, metrics, version, identity, and the API's own descriptions. */
final class SystemApi {

  /** Where the OpenAPI document lives on the classpath (and in the repository). */
  static final String OPENAPI = "dev/flightdeck/server/openapi.yaml";

  private final Database db;
  private final ServerMetrics metrics;

  SystemApi(Database db, ServerMetrics metrics) {
    this.db = db;
    this.metrics = metrics;
  }

  void register(RoutesConfig r) {
    r.get("/healthz", ctx -> ResourceApi.json(ctx, 200, Json.object().put("status", "ok")), Access.OPEN);
    r.get("/readyz", this::ready, Access.OPEN);
    r.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.scrape()),
        Access.VIEWER);
    r.get("/api/v1/version", ctx -> ResourceApi.json(ctx, 200, Json.object().put("version", version())), Access.VIEWER);
    r.get("/api/v1/whoami", this::whoami, Access.VIEWER);
    r.get("/api/v1/openapi.yaml", ctx -> ctx.contentType("application/yaml").result(resource(OPENAPI)), Access.VIEWER);
    r.get("/api/v1/schemas", this::schemas, Access.VIEWER);
    r.get("/api/v1/schemas/{file}", ctx -> ctx.contentType("application/schema+json")
        .result(ResourceReader.schemaText(schemaFile(ctx.pathParam("file")))), Access.VIEWER);
  }

  private void ready(Context ctx) {
    boolean up = db.isReachable();
    ResourceApi.json(ctx, up ? 200 : 503, Json.object().put("status", up ? "ready" : "store unreachable"));
  }

  private void whoami(Context ctx) {
    Principal p = Requests.principal(ctx);
    ResourceApi.json(ctx, 200, Json.object().put("name", p.name()).put("role", p.role().id()));
  }

  private void schemas(Context ctx) {
    ObjectNode body = Json.object();
    ArrayNode items = body.putArray("items");
    for (Kind k : Kind.values()) {
      items.addObject().put("kind", k.displayName()).put("url", "/api/v1/schemas/" + k.schemaFile());
    }
    items.addObject().put("kind", "metadata").put("url", "/api/v1/schemas/metadata.schema.json");
    ResourceApi.json(ctx, 200, body);
  }

  private static String schemaFile(String requested) {
    for (Kind k : Kind.values()) {
      if (k.schemaFile().equals(requested)) {
        return requested;
      }
    }
    if (requested.equals("metadata.schema.json")) {
      return requested;
    }
    throw new NotFoundException("no schema named " + requested + "; see GET /api/v1/schemas");
  }

  static String version() {
    String v = SystemApi.class.getPackage().getImplementationVersion();
    return v == null ? "0.1.0-SNAPSHOT" : v;
  }

  static byte[] resource(String path) {
    try (InputStream in = SystemApi.class.getClassLoader().getResourceAsStream(path)) {
      if (in == null) {
        throw new NotFoundException("missing resource " + path);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new dev.flightdeck.api.FlightdeckException("cannot read " + path, e);
    }
  }
}

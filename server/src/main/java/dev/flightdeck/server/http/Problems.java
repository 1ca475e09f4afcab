package dev.flightdeck.server.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.ConflictException;
import dev.flightdeck.api.InvalidResourceException;
import dev.flightdeck.api.NotFoundException;
import dev.flightdeck.api.parse.Diagnostic;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.store.StoreException;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;

/**
 * Every error leaves the API as an RFC 9457 problem ({@code application/problem+json}) with a
 * stable {@code type}, the HTTP status, a human {@code detail}, and for invalid resources an
 * {@code errors} list with file, line, column, field path and message.
 */
final class Problems {

  static final String CONTENT_TYPE = "application/problem+json";
  private static final System.Logger LOG = System.getLogger(Problems.class.getName());

  private Problems() {}

  static void register(RoutesConfig routes) {
    routes.exception(HttpProblem.class, (e, ctx) -> write(ctx, e.status(), e.type(), title(e.status()), e.getMessage()));
    routes.exception(InvalidResourceException.class, (e, ctx) -> {
      ObjectNode p = problem(ctx, 422, "invalid-resource", "Invalid resource",
          e.diagnostics().size() + (e.diagnostics().size() == 1 ? " error" : " errors") + " in the input; nothing was applied");
      ArrayNode errors = p.putArray("errors");
      for (Diagnostic d : e.diagnostics()) {
        errors.addObject().put("source", d.source()).put("line", d.line()).put("column", d.column())
            .put("path", d.path()).put("message", d.message());
      }
      send(ctx, 422, p);
    });
    routes.exception(ConflictException.class, (e, ctx) -> write(ctx, 409, "conflict", "Conflict", e.getMessage()));
    routes.exception(NotFoundException.class, (e, ctx) -> write(ctx, 404, "not-found", "Not found", e.getMessage()));
    routes.exception(StoreException.class, (e, ctx) -> {
      LOG.log(System.Logger.Level.ERROR, "store failure on " + ctx.method() + " " + ctx.path(), e);
      write(ctx, 503, "store-unavailable", "Store unavailable", "the database failed: " + e.getMessage());
    });
    routes.exception(HttpResponseException.class, (e, ctx) -> write(ctx, e.getStatus(), slug(e.getStatus()),
        title(e.getStatus()), e.getMessage()));
    routes.exception(Exception.class, (e, ctx) -> {
      LOG.log(System.Logger.Level.ERROR, "unhandled error on " + ctx.method() + " " + ctx.path(), e);
      write(ctx, 500, "internal", "Internal error", "the server failed to handle this request; see its log");
    });
    routes.error(404, "*", ctx -> {
      if (!CONTENT_TYPE.equals(ctx.res().getContentType())) {
        write(ctx, 404, "not-found", "Not found", "no such endpoint: " + ctx.method() + " " + ctx.path()
            + " (see GET /api/v1/openapi.yaml)");
      }
    });
    routes.error(405, "*", ctx -> write(ctx, 405, "method-not-allowed", "Method not allowed",
        ctx.method() + " is not supported on " + ctx.path()));
  }

  static void write(Context ctx, int status, String type, String title, String detail) {
    send(ctx, status, problem(ctx, status, type, title, detail));
  }

  private static ObjectNode problem(Context ctx, int status, String type, String title, String detail) {
    ObjectNode p = Json.object();
    p.put("type", "urn:flightdeck:problem:" + type);
    p.put("title", title);
    p.put("status", status);
    p.put("detail", detail);
    p.put("instance", ctx.path());
    return p;
  }

  private static void send(Context ctx, int status, ObjectNode body) {
    if (status == 401) {
      ctx.header("WWW-Authenticate", "Bearer realm=\"flightdeck\"");
    }
    ctx.status(status).contentType(CONTENT_TYPE).result(Json.write(body));
  }

  private static String slug(int status) {
    return switch (status) {
      case 400 -> "bad-request";
      case 413 -> "payload-too-large";
      case 415 -> "unsupported-media-type";
      default -> "http-" + status;
    };
  }

  private static String title(int status) {
    return switch (status) {
      case 400 -> "Bad request";
      case 401 -> "Unauthorized";
      case 403 -> "Forbidden";
      case 404 -> "Not found";
      case 413 -> "Payload too large";
      case 415 -> "Unsupported media type";
      default -> "HTTP " + status;
    };
  }
}

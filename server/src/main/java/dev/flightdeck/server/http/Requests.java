package dev.flightdeck.server.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Kind;
import io.javalin.http.Context;
import java.util.Optional;

/** Small helpers for reading requests the same way in every handler. */
final class Requests {

  static final String PRINCIPAL = "flightdeck.principal";

  private Requests() {}

  static Principal principal(Context ctx) {
    Principal p = ctx.attribute(PRINCIPAL);
    if (p == null) {
      throw new IllegalStateException("no principal on an authenticated route: " + ctx.path());
    }
    return p;
  }

  /**
   * The body as a JSON object, or an empty object when the body is empty; a clear 400 when it is
   * larger than {@code maxBytes}, not JSON, or not an object. {@code example} shows the expected shape.
   */
  static ObjectNode optionalJsonObject(Context ctx, int maxBytes, String example) {
    byte[] raw = ctx.bodyAsBytes();
    if (raw.length > maxBytes) {
      throw HttpProblem.badRequest("body: at most " + maxBytes + " bytes, got " + raw.length);
    }
    if (raw.length == 0) {
      return Json.object();
    }
    JsonNode body;
    try {
      body = Json.mapper().readTree(raw);
    } catch (JsonProcessingException e) {
      throw HttpProblem.badRequest("body: expected a JSON object such as " + example + ": " + e.getOriginalMessage()
          + " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr());
    } catch (java.io.IOException e) {
      throw HttpProblem.badRequest("body: unreadable: " + e.getMessage());
    }
    if (body instanceof ObjectNode o) {
      return o;
    }
    throw HttpProblem.badRequest("body: expected a JSON object such as " + example + ", got "
        + (body == null || body.isMissingNode() ? "nothing" : body.getNodeType().name().toLowerCase(java.util.Locale.ROOT)));
  }

  static long longParam(Context ctx, String name, long fallback) {
    String v = ctx.queryParam(name);
    if (v == null || v.isBlank()) {
      return fallback;
    }
    try {
      long n = Long.parseLong(v.strip());
      if (n < 0) {
        throw HttpProblem.badRequest("query parameter " + name + ": expected a number >= 0, got " + v);
      }
      return n;
    } catch (NumberFormatException e) {
      throw HttpProblem.badRequest("query parameter " + name + ": expected a number >= 0, got \"" + v + "\"");
    }
  }

  static boolean boolParam(Context ctx, String name) {
    String v = ctx.queryParam(name);
    if (v == null || v.isBlank()) {
      return false;
    }
    return switch (v.strip().toLowerCase(java.util.Locale.ROOT)) {
      case "true", "1", "yes" -> true;
      case "false", "0", "no" -> false;
      default -> throw HttpProblem.badRequest("query parameter " + name + ": expected true or false, got \"" + v + "\"");
    };
  }

  static Optional<Kind> kindParam(Context ctx, String name) {
    String v = ctx.queryParam(name);
    if (v == null || v.isBlank()) {
      return Optional.empty();
    }
    return Optional.of(Kind.fromUserInput(v.strip()).orElseThrow(() -> HttpProblem.badRequest(
        "query parameter " + name + ": unknown kind \"" + v + "\"; expected one of " + String.join(", ", Kind.displayNames()))));
  }
}

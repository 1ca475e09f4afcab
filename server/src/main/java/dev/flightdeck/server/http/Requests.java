package dev.flightdeck.server.http;

import dev.flightdeck.api.auth.Principal;
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

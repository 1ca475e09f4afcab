package dev.flightdeck.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.FlightdeckException;
import dev.flightdeck.api.InvalidResourceException;
import dev.flightdeck.api.NotFoundException;
import dev.flightdeck.api.parse.Diagnostic;
import dev.flightdeck.api.parse.ParsedResource;
import dev.flightdeck.api.parse.ResourceReader;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.api.resource.LabelSelector;
import dev.flightdeck.api.resource.Resource;
import dev.flightdeck.store.resource.ApplyResult;
import dev.flightdeck.store.resource.ResourceEvent;
import dev.flightdeck.store.resource.ResourceStore;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Apply, create, get, list, replace, delete and history of resources. */
final class ResourceApi {

  /** The content type of a multi-file apply request: {@code {"files":[{"name","content"}]}}. */
  static final String FILES_TYPE = "application/vnd.flightdeck.files+json";
  private static final int MAX_FILES = 256;

  private final ResourceStore store;
  private final ResourceReader reader;

  ResourceApi(ResourceStore store, ResourceReader reader) {
    this.store = store;
    this.reader = reader;
  }

  void register(RoutesConfig r) {
    r.post("/api/v1/apply", this::apply, Access.OPERATOR);
    for (Kind kind : Kind.values()) {
      String base = "/api/v1/" + kind.plural();
      r.get(base, ctx -> list(ctx, kind), Access.VIEWER);
      r.post(base, ctx -> create(ctx, kind), Access.OPERATOR);
      r.get(base + "/{name}", ctx -> get(ctx, kind), Access.VIEWER);
      r.put(base + "/{name}", ctx -> replace(ctx, kind), Access.OPERATOR);
      r.delete(base + "/{name}", ctx -> delete(ctx, kind), Access.OPERATOR);
      r.get(base + "/{name}/history", ctx -> history(ctx, kind), Access.VIEWER);
    }
  }

  private void apply(Context ctx) {
    boolean dryRun = Requests.boolParam(ctx, "dryRun");
    List<ParsedResource> batch = reader.readAll(sources(ctx));
    List<ApplyResult> results = store.apply(batch, Requests.principal(ctx), dryRun);
    ObjectNode body = Json.object().put("dryRun", dryRun);
    ArrayNode items = body.putArray("results");
    for (ApplyResult a : results) {
      Resource res = a.resource();
      items.addObject().put("ref", res.ref()).put("kind", res.kind().displayName()).put("name", res.name())
          .put("change", a.change().name().toLowerCase(Locale.ROOT))
          .put("resourceVersion", Long.toString(res.metadata().resourceVersion()));
    }
    json(ctx, 200, body);
  }

  private void create(Context ctx, Kind kind) {
    ParsedResource p = single(ctx, kind);
    List<ApplyResult> r = store.create(List.of(p), Requests.principal(ctx));
    json(ctx, 201, r.get(0).resource().toJson());
  }

  private void replace(Context ctx, Kind kind) {
    ParsedResource p = single(ctx, kind);
    String name = ctx.pathParam("name");
    if (!p.resource().name().equals(name)) {
      throw new InvalidResourceException(List.of(p.sourceMap().at("metadata.name",
          "expected \"" + name + "\" (the name in the URL), got \"" + p.resource().name() + "\"")));
    }
    List<ApplyResult> r = store.apply(List.of(p), Requests.principal(ctx), false);
    json(ctx, 200, r.get(0).resource().toJson());
  }

  private void get(Context ctx, Kind kind) {
    String name = ctx.pathParam("name");
    Resource r = store.get(kind, name).orElseThrow(() -> notFound(kind, name));
    json(ctx, 200, r.toJson());
  }

  private void list(Context ctx, Kind kind) {
    LabelSelector selector;
    try {
      String s = ctx.queryParam("labelSelector");
      selector = s == null ? LabelSelector.everything() : LabelSelector.parse(s);
    } catch (FlightdeckException e) {
      throw HttpProblem.badRequest(e.getMessage());
    }
    long revision = store.revision();
    ObjectNode body = Json.object().put("kind", kind.displayName() + "List").put("resourceVersion", Long.toString(revision));
    ArrayNode items = body.putArray("items");
    store.list(kind, selector).forEach(r -> items.add(r.toJson()));
    json(ctx, 200, body);
  }

  private void delete(Context ctx, Kind kind) {
    long expected = Requests.longParam(ctx, "resourceVersion", 0);
    Resource deleted = store.delete(kind, ctx.pathParam("name"), expected, Requests.principal(ctx));
    json(ctx, 200, deleted.toJson());
  }

  private void history(Context ctx, Kind kind) {
    String name = ctx.pathParam("name");
    List<ResourceEvent> events = store.history(kind, name);
    if (events.isEmpty()) {
      throw notFound(kind, name);
    }
    ObjectNode body = Json.object();
    ArrayNode items = body.putArray("items");
    events.forEach(e -> items.add(event(e)));
    json(ctx, 200, body);
  }

  static ObjectNode event(ResourceEvent e) {
    ObjectNode n = Json.object();
    n.put("revision", Long.toString(e.revision()));
    n.put("operation", e.operation().name());
    n.put("principal", e.principal());
    n.put("time", e.at().toString());
    n.set("resource", e.resource().toJson());
    return n;
  }

  private ParsedResource single(Context ctx, Kind kind) {
    List<ParsedResource> parsed = reader.readAll(sources(ctx));
    if (parsed.size() != 1) {
      throw HttpProblem.badRequest("expected exactly one resource in the body, got " + parsed.size()
          + " (use POST /api/v1/apply for several)");
    }
    ParsedResource p = parsed.get(0);
    if (p.resource().kind() != kind) {
      throw new InvalidResourceException(List.of(p.sourceMap().at("kind",
          "expected " + kind.displayName() + " (the kind in the URL), got " + p.resource().kind().displayName())));
    }
    return p;
  }

  /** The files of a request: a files bundle, or the body itself as one YAML or JSON file. */
  private static List<ResourceReader.Source> sources(Context ctx) {
    String type = ctx.contentType() == null ? "" : ctx.contentType().toLowerCase(Locale.ROOT);
    byte[] body = ctx.bodyAsBytes();
    if (body.length == 0) {
      throw HttpProblem.badRequest("the request body is empty; expected YAML or JSON resources");
    }
    if (type.startsWith(FILES_TYPE)) {
      return bundle(body);
    }
    if (!type.isEmpty() && !(type.contains("yaml") || type.contains("json") || type.startsWith("text/plain"))) {
      throw new HttpProblem(415, "unsupported-media-type", "content type " + ctx.contentType()
          + " is not supported; expected application/yaml, application/json or " + FILES_TYPE);
    }
    String name = ctx.queryParam("source");
    return List.of(new ResourceReader.Source(name == null || name.isBlank() ? "<request>" : name, body));
  }

  private static List<ResourceReader.Source> bundle(byte[] body) {
    JsonNode root;
    try {
      root = Json.mapper().readTree(body);
    } catch (java.io.IOException e) {
      throw new InvalidResourceException(List.of(new Diagnostic("<request>", 0, 0, "",
          "expected a JSON object {\"files\":[{\"name\":...,\"content\":...}]}: " + e.getMessage().split("\n")[0])));
    }
    JsonNode files = root == null ? null : root.get("files");
    if (files == null || !files.isArray() || files.isEmpty()) {
      throw HttpProblem.badRequest("files: expected a non-empty list of {\"name\":...,\"content\":...}");
    }
    if (files.size() > MAX_FILES) {
      throw HttpProblem.badRequest("files: expected at most " + MAX_FILES + " files, got " + files.size());
    }
    List<ResourceReader.Source> out = new ArrayList<>();
    for (int i = 0; i < files.size(); i++) {
      JsonNode f = files.get(i);
      if (!f.path("name").isTextual() || !f.path("content").isTextual()) {
        throw HttpProblem.badRequest("files[" + i + "]: expected {\"name\": string, \"content\": string}");
      }
      out.add(new ResourceReader.Source(f.get("name").asText(), f.get("content").asText().getBytes(StandardCharsets.UTF_8)));
    }
    return out;
  }

  private static NotFoundException notFound(Kind kind, String name) {
    return new NotFoundException(kind.singular() + "/" + name + " does not exist");
  }

  static void json(Context ctx, int status, JsonNode body) {
    ctx.status(status).contentType("application/json").result(Json.write(body));
  }
}

package dev.flightdeck.server.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.audit.AuditChain;
import dev.flightdeck.api.audit.AuditEntry;
import dev.flightdeck.api.audit.VerifyReport;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.store.audit.AuditLog;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.Base64;

/** Read, verify and export the audit log (operators), and fetch the key that signs it. */
final class AuditApi {

  private final AuditLog audit;

  AuditApi(AuditLog audit) {
    this.audit = audit;
  }

  void register(RoutesConfig r) {
    r.get("/api/v1/audit", this::list, Access.OPERATOR);
    r.get("/api/v1/audit/export", this::export, Access.OPERATOR);
    r.post("/api/v1/audit/verify", this::verify, Access.OPERATOR);
    r.get("/api/v1/audit/key", this::key, Access.VIEWER);
  }

  private void list(Context ctx) {
    long after = Requests.longParam(ctx, "after", 0);
    int limit = (int) Math.min(Requests.longParam(ctx, "limit", 100), 10_000);
    ObjectNode body = Json.object();
    ArrayNode items = body.putArray("items");
    for (AuditEntry e : audit.list(after, limit)) {
      ObjectNode n = items.addObject().put("seq", e.seq()).put("time", e.time().toString())
          .put("principal", e.event().principal()).put("action", e.event().action())
          .put("resource", e.event().resource());
      e.event().before().ifPresent(b -> n.put("before", b));
      e.event().after().ifPresent(a -> n.put("after", a));
      n.put("details", e.event().details()).put("prevHash", e.prevHash()).put("hash", e.hash());
    }
    ResourceApi.json(ctx, 200, body);
  }

  private void export(Context ctx) throws java.io.IOException {
    ctx.status(200);
    ctx.res().setContentType("application/x-ndjson");
    ctx.res().setHeader("Content-Disposition", "attachment; filename=\"flightdeck-audit.jsonl\"");
    audit.export(ctx.res().getOutputStream());
  }

  private void verify(Context ctx) {
    VerifyReport r = audit.verify();
    ObjectNode body = Json.object().put("ok", r.ok()).put("entries", r.entries()).put("checkpoints", r.checkpoints());
    r.firstBad().ifPresent(f -> body.putObject("firstBad").put("seq", f.seq()).put("reason", f.reason()));
    body.put("summary", r.toString());
    ResourceApi.json(ctx, 200, body);
  }

  private void key(Context ctx) {
    byte[] encoded = audit.publicKey().getEncoded();
    ResourceApi.json(ctx, 200, Json.object().put("algorithm", "Ed25519").put("keyId", AuditChain.keyId(encoded))
        .put("publicKey", Base64.getEncoder().encodeToString(encoded)));
  }
}

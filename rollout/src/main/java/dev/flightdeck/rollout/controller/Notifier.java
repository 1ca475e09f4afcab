package dev.flightdeck.rollout.controller;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Resource;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Set;

/** Announces rollout decisions. */
public interface Notifier {

  /** Called after a transition is stored; must not block. */
  void decision(Resource rollout, RolloutState state, String action, String reason, ObjectNode evidence);

  /** Announces nothing. */
  Notifier NONE = (r, s, a, why, e) -> { };

  /**
   * POSTs rollbacks, promotions, aborts, undos and inconclusive analyses to the Rollout's
   * {@code spec.notify.webhook}: generic JSON with a Slack-compatible {@code text} field. Sent on
   * a virtual thread, retried twice; a webhook that fails is logged, never blocks a rollback.
   */
  static Notifier webhooks(HttpClient http) {
    Set<String> announced = Set.of("rolled-back", "promoted", "aborted", "undone", "inconclusive");
    return (r, s, action, reason, evidence) -> {
      String url = r.spec().path("notify").path("webhook").asText("");
      if (url.isEmpty() || !announced.contains(action)) {
        return;
      }
      ObjectNode body = Json.object().put("kind", "RolloutDecision").put("rollout", r.name()).put("agent", s.agent())
          .put("stable", s.stable()).put("candidate", s.candidate()).put("action", action)
          .put("phase", s.phase().name()).put("attempt", s.attempt()).put("reason", reason);
      if (evidence != null) {
        body.set("evidence", evidence);
      }
      String icon = switch (action) {
        case "promoted" -> ":white_check_mark:";
        case "rolled-back" -> ":rotating_light:";
        default -> ":warning:";
      };
      body.put("text", icon + " rollout *" + r.name() + "* " + action + " (" + s.agent() + ": " + s.stable() + " → "
          + s.candidate() + "): " + reason);
      Thread.ofVirtual().name("flightdeck-rollout-webhook").start(() -> {
        for (int attempt = 1; attempt <= 3; attempt++) {
          try {
            HttpResponse<Void> res = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(Json.write(body)))
                .build(), HttpResponse.BodyHandlers.discarding());
            if (res.statusCode() < 500) {
              if (res.statusCode() >= 300) {
                System.getLogger(Notifier.class.getName()).log(System.Logger.Level.WARNING,
                    "rollout webhook for " + r.name() + " answered HTTP " + res.statusCode());
              }
              return;
            }
          } catch (java.io.IOException | IllegalArgumentException e) {
            System.getLogger(Notifier.class.getName()).log(System.Logger.Level.WARNING,
                "rollout webhook for " + r.name() + " failed (attempt " + attempt + "): " + e.getMessage());
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
          try {
            Thread.sleep(500L * attempt);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
        }
      });
    };
  }
}

package dev.flightdeck.eval.run;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Where runs are sent: a base URL the case's request path is appended to, the name shown in
 * reports and used in cache keys (e.g. {@code agentversion/support-triage-v2}), and headers
 * added to every request (the session header that lets the gateway pin and record a run).
 */
public record Target(String id, URI baseUrl, Map<String, String> headers) {

  public Target {
    headers = Map.copyOf(headers);
    String s = baseUrl.getScheme();
    if (s == null || !(s.equals("http") || s.equals("https"))) {
      throw new IllegalArgumentException("expected an http or https URL, got " + baseUrl);
    }
  }

  /**
   * Resolves a suite's target: a URL; {@code agent/NAME} through the gateway at {@code gatewayUrl};
   * {@code agentversion/NAME} (or {@code av/NAME}) at the first endpoint of that version's spec,
   * which {@code versionSpec} looks up. @throws IllegalArgumentException saying what was expected
   */
  public static Target resolve(String target, Supplier<String> gatewayUrl,
      Function<String, JsonNode> versionSpec) {
    if (target.startsWith("http://") || target.startsWith("https://")) {
      return url(target);
    }
    int slash = target.indexOf('/');
    String kind = slash < 0 ? "" : target.substring(0, slash).toLowerCase(Locale.ROOT);
    String name = target.substring(slash + 1);
    if (kind.equals("agent") && !name.isEmpty()) {
      return new Target(target, URI.create(gatewayUrl.get().replaceAll("/+$", "") + "/agents/" + name), Map.of());
    }
    if ((kind.equals("agentversion") || kind.equals("av")) && !name.isEmpty()) {
      JsonNode url = versionSpec.apply(name).path("endpoints").path(0).path("url");
      if (!url.isTextual()) {
        throw new IllegalArgumentException("agentversion/" + name + " has no endpoints to send runs to");
      }
      return new Target("agentversion/" + name, URI.create(url.asText()), Map.of());
    }
    throw new IllegalArgumentException("expected a URL, agent/NAME or agentversion/NAME as target, got \"" + target + "\"");
  }

  /** A plain URL target. */
  public static Target url(String url) {
    URI u = URI.create(url);
    return new Target(url, u, Map.of());
  }
}

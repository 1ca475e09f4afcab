package dev.flightdeck.eval.run;

import java.net.URI;
import java.util.Map;

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

  /** A plain URL target. */
  public static Target url(String url) {
    URI u = URI.create(url);
    return new Target(url, u, Map.of());
  }
}

package dev.flightdeck.gateway.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.resource.Json;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One of the model gateway's own answers to a call it does not forward, in OpenAI's error shape
 * ({@code {"error": {"message", "type", "param", "code"}}}) so that clients report it as they
 * would a provider's error. The code is also in the {@code X-Flightdeck-Error} header.
 */
final class ModelError extends RuntimeException {

  final int status;
  final String code;
  final Map<String, String> headers = new LinkedHashMap<>();

  ModelError(int status, String code, String message) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
  }

  /** Adds a response header. */
  ModelError header(String name, String value) {
    headers.put(name, value);
    return this;
  }

  /** Tells OpenAI's clients not to retry (they retry 429s by default): retrying cannot succeed. */
  ModelError noRetry() {
    return header("x-should-retry", "false");
  }

  static ModelError badRequest(String code, String message) {
    return new ModelError(400, code, message);
  }

  String type() {
    return switch (status) {
      case 400, 404, 413 -> "invalid_request_error";
      case 401 -> "authentication_error";
      case 403 -> "permission_error";
      case 429 -> "rate_limit_error";
      default -> "api_error";
    };
  }

  /** The error body. */
  byte[] body() {
    return body(getMessage(), type(), code);
  }

  static byte[] body(String message, String type, String code) {
    ObjectNode root = Json.object();
    ObjectNode e = root.putObject("error");
    e.put("message", message);
    e.put("type", type);
    e.putNull("param");
    e.put("code", code);
    return Json.write(root).getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }
}

package dev.flightdeck.server.http;

import dev.flightdeck.api.FlightdeckException;

/** An error with an HTTP status and a stable problem type, raised by handlers. */
final class HttpProblem extends FlightdeckException {

  private final int status;
  private final String type;

  HttpProblem(int status, String type, String detail) {
    super(detail);
    this.status = status;
    this.type = type;
  }

  static HttpProblem badRequest(String detail) {
    return new HttpProblem(400, "bad-request", detail);
  }

  static HttpProblem unauthorized(String detail) {
    return new HttpProblem(401, "unauthorized", detail);
  }

  static HttpProblem forbidden(String detail) {
    return new HttpProblem(403, "forbidden", detail);
  }

  static HttpProblem unavailable(String detail) {
    return new HttpProblem(503, "unavailable", detail);
  }

  int status() {
    return status;
  }

  String type() {
    return type;
  }
}

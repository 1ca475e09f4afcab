package dev.flightdeck.samples.triage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The golden tickets of examples/evalsuite.yaml, so the tests and the eval gate read the same cases. */
record GoldenTickets(String name, String ticket, String queue) {

  static final Path EXAMPLES = Path.of("..", "examples");

  static List<GoldenTickets> read() {
    try {
      JsonNode suite = new YAMLMapper().readTree(EXAMPLES.resolve("evalsuite.yaml").toFile());
      List<GoldenTickets> out = new ArrayList<>();
      for (JsonNode c : suite.path("spec").path("cases")) {
        out.add(new GoldenTickets(c.path("name").asText(), c.path("vars").path("ticket").asText(),
            c.path("vars").path("queue").asText()));
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static GoldenTickets named(String name) {
    return read().stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
  }
}

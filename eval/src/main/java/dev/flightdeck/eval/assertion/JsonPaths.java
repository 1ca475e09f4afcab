package dev.flightdeck.eval.assertion;

import com.fasterxml.jackson.databind.JsonNode;
import com.jayway.jsonpath.Configuration;
import com.jayway.jsonpath.InvalidPathException;
import com.jayway.jsonpath.JsonPath;
import com.jayway.jsonpath.Option;
import com.jayway.jsonpath.spi.json.JacksonJsonNodeJsonProvider;
import com.jayway.jsonpath.spi.mapper.JacksonMappingProvider;
import java.util.Optional;

/** JSON path (Jayway syntax, e.g. {@code $.choices[0].message.content}) over Jackson trees. */
public final class JsonPaths {

  private static final Configuration CONFIG = Configuration.builder()
      .jsonProvider(new JacksonJsonNodeJsonProvider())
      .mappingProvider(new JacksonMappingProvider())
      .options(Option.SUPPRESS_EXCEPTIONS)
      .build();

  private JsonPaths() {}

  /** Compiles a path. @throws IllegalArgumentException with the library's explanation */
  public static JsonPath compile(String path) {
    try {
      return JsonPath.compile(path);
    } catch (InvalidPathException | IllegalArgumentException e) {
      throw new IllegalArgumentException("invalid JSON path \"" + path + "\": " + e.getMessage(), e);
    }
  }

  /** The value at {@code path} in {@code root}; empty when missing or null. */
  public static Optional<JsonNode> read(JsonNode root, JsonPath path) {
    try {
      Object v = path.read(root, CONFIG);
      if (v instanceof JsonNode n && !n.isNull() && !n.isMissingNode()) {
        if (!path.isDefinite() && n.isArray() && n.isEmpty()) {
          return Optional.empty();
        }
        return Optional.of(n);
      }
      return Optional.empty();
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }
}

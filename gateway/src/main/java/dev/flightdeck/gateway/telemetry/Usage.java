package dev.flightdeck.gateway.telemetry;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * Token usage and cost as a response reported it: an OpenAI-style {@code usage} object
 * ({@code prompt_tokens}, {@code completion_tokens}, {@code prompt_tokens_details.cached_tokens},
 * or {@code input_tokens}/{@code output_tokens}), optionally with {@code cost} in US dollars.
 */
public record Usage(long promptTokens, long completionTokens, long cachedTokens, double costUsd) {

  /** Nothing reported. */
  public static final Usage NONE = new Usage(-1, -1, -1, -1);

  private static final JsonFactory JSON = new JsonFactory();

  /** Whether anything was reported. */
  public boolean known() {
    return promptTokens >= 0 || completionTokens >= 0 || costUsd >= 0;
  }

  /**
   * Reads the {@code usage} object of a JSON document (at the top level, or one level down as in
   * the Responses API's {@code response.usage}); {@link #NONE} when there is none or the bytes
   * are not JSON.
   */
  public static Usage fromDocument(byte[] bytes, int offset, int length) {
    try (JsonParser p = JSON.createParser(bytes, offset, length)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return NONE;
      }
      return findUsage(p, 0);
    } catch (IOException | RuntimeException e) {
      return NONE;
    }
  }

  /** Reads a bare usage object, as the {@code X-Flightdeck-Usage} header carries it. */
  public static Usage fromUsageObject(String json) {
    try (JsonParser p = JSON.createParser(json)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return NONE;
      }
      return readUsage(p);
    } catch (IOException | RuntimeException e) {
      return NONE;
    }
  }

  private static Usage findUsage(JsonParser p, int depth) throws IOException {
    Usage found = NONE;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken t = p.nextToken();
      if (t == JsonToken.START_OBJECT && "usage".equals(name)) {
        found = readUsage(p);
      } else if (t == JsonToken.START_OBJECT && depth == 0 && !found.known()) {
        found = findUsage(p, 1);
      } else {
        p.skipChildren();
      }
    }
    return found;
  }

  private static Usage readUsage(JsonParser p) throws IOException {
    long prompt = -1;
    long completion = -1;
    long cached = -1;
    double cost = -1;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken t = p.nextToken();
      switch (name) {
        case "prompt_tokens", "input_tokens" -> prompt = t.isNumeric() ? p.getLongValue() : prompt;
        case "completion_tokens", "output_tokens" -> completion = t.isNumeric() ? p.getLongValue() : completion;
        case "cost", "cost_usd" -> cost = t.isNumeric() ? p.getDoubleValue() : cost;
        case "prompt_tokens_details", "input_tokens_details" -> {
          if (t == JsonToken.START_OBJECT) {
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String inner = p.currentName();
              JsonToken it = p.nextToken();
              if ("cached_tokens".equals(inner) && it.isNumeric()) {
                cached = p.getLongValue();
              } else {
                p.skipChildren();
              }
            }
          } else {
            p.skipChildren();
          }
        }
        default -> p.skipChildren();
      }
    }
    return new Usage(prompt, completion, cached, cost);
  }
}

package dev.flightdeck.samples.triage;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.flightdeck.api.FlightdeckException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * How one version of the support-triage agent behaves: its model, system prompt and settings,
 * read from the version's {@code AgentVersion} resource, and where its model calls go.
 *
 * @param version the AgentVersion's name, reported in every answer
 * @param model the model id ({@code spec.models[0].id})
 * @param systemPrompt {@code spec.prompt.system}
 * @param temperature {@code spec.config.temperature} (default 0.2)
 * @param maxToolCalls {@code spec.config.maxToolCalls}: tool calls allowed per ticket (default 4)
 * @param knowledgeBaseInPrompt {@code spec.config.knowledgeBaseInPrompt}: appends the whole
 *     knowledge base to the system prompt of every model call (default false)
 * @param modelBaseUrl the OpenAI-compatible base URL, e.g. {@code http://127.0.0.1:7080/v1}
 * @param apiKey the key sent as a bearer token (a Flightdeck virtual key through the gateway)
 */
public record TriageConfig(String version, String model, String systemPrompt, double temperature, int maxToolCalls,
    boolean knowledgeBaseInPrompt, URI modelBaseUrl, String apiKey) {

  /** The keys of {@code spec.config} this agent reads; others are a mistake. */
  static final Set<String> CONFIG_KEYS = Set.of("temperature", "maxToolCalls", "knowledgeBaseInPrompt");

  private static final YAMLMapper YAML = new YAMLMapper();

  /** Checks every field; a config that cannot work fails here, not on the first ticket. */
  public TriageConfig {
    require(version, "version");
    require(model, "model");
    require(systemPrompt, "systemPrompt");
    require(apiKey, "apiKey");
    if (modelBaseUrl == null || !("http".equals(modelBaseUrl.getScheme()) || "https".equals(modelBaseUrl.getScheme()))
        || modelBaseUrl.getHost() == null) {
      throw new FlightdeckException("model base URL must be an http(s) URL such as http://127.0.0.1:7080/v1, got "
          + modelBaseUrl);
    }
    if (!(temperature >= 0 && temperature <= 2)) {
      throw new FlightdeckException("temperature must be from 0 to 2, got " + temperature);
    }
    if (maxToolCalls < 1 || maxToolCalls > 100) {
      throw new FlightdeckException("maxToolCalls must be from 1 to 100, got " + maxToolCalls);
    }
  }

  private static void require(String value, String field) {
    if (value == null || value.isBlank()) {
      throw new FlightdeckException(field + " must not be empty");
    }
  }

  /**
   * Reads the {@code AgentVersion} named {@code agentVersionName} from a multi-document resources
   * file such as {@code examples/support-triage.yaml}; every mistake names the file, the document
   * and the field.
   */
  public static TriageConfig fromResources(Path yamlFile, String agentVersionName, URI modelBaseUrl, String apiKey) {
    List<JsonNode> docs = new ArrayList<>();
    try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(Files.readString(yamlFile))) {
      while (it.hasNextValue()) {
        docs.add(it.nextValue());
      }
    } catch (JacksonException e) {
      String where = e.getLocation() == null ? "" : ":" + e.getLocation().getLineNr() + ":" + e.getLocation().getColumnNr();
      throw new FlightdeckException(yamlFile + where + ": not valid YAML: " + e.getOriginalMessage().strip().replaceAll("\\s*\\n\\s*", " "));
    } catch (IOException e) {
      throw new FlightdeckException("cannot read " + yamlFile + ": " + e.getMessage(), e);
    }
    List<String> versions = new ArrayList<>();
    for (int i = 0; i < docs.size(); i++) {
      JsonNode d = docs.get(i);
      if (d == null || !d.isObject() || !"AgentVersion".equals(d.path("kind").asText())) {
        continue;
      }
      String name = d.path("metadata").path("name").asText("");
      versions.add(name);
      if (name.equals(agentVersionName)) {
        return parse(d, yamlFile + ": document " + (i + 1) + " (AgentVersion " + name + ")", modelBaseUrl, apiKey);
      }
    }
    throw new FlightdeckException(yamlFile + ": no AgentVersion named \"" + agentVersionName + "\""
        + (versions.isEmpty() ? "; the file has no AgentVersion documents" : "; it has " + String.join(", ", versions)));
  }

  private static TriageConfig parse(JsonNode doc, String where, URI modelBaseUrl, String apiKey) {
    JsonNode spec = doc.path("spec");
    JsonNode models = spec.path("models");
    if (!models.isArray() || models.isEmpty() || !models.get(0).path("id").isTextual()
        || models.get(0).path("id").asText().isBlank()) {
      throw new FlightdeckException(where + ": spec.models[0].id: expected the model id the agent calls");
    }
    JsonNode system = spec.path("prompt").path("system");
    if (!system.isTextual() || system.asText().isBlank()) {
      throw new FlightdeckException(where + ": spec.prompt.system: expected the system prompt (a non-empty string)");
    }
    JsonNode config = spec.path("config");
    if (!config.isMissingNode() && !config.isObject()) {
      throw new FlightdeckException(where + ": spec.config: expected a mapping with "
          + String.join(", ", CONFIG_KEYS.stream().sorted().toList()));
    }
    for (Iterator<String> it = config.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (!CONFIG_KEYS.contains(key)) {
        throw new FlightdeckException(where + ": spec.config." + key + ": unknown key; this agent reads "
            + String.join(", ", CONFIG_KEYS.stream().sorted().toList()));
      }
    }
    double temperature = 0.2;
    if (config.has("temperature")) {
      JsonNode t = config.get("temperature");
      if (!t.isNumber() || t.asDouble() < 0 || t.asDouble() > 2) {
        throw new FlightdeckException(where + ": spec.config.temperature: expected a number from 0 to 2, got " + t);
      }
      temperature = t.asDouble();
    }
    int maxToolCalls = 4;
    if (config.has("maxToolCalls")) {
      JsonNode m = config.get("maxToolCalls");
      if (!m.isIntegralNumber() || m.asLong() < 1 || m.asLong() > 100) {
        throw new FlightdeckException(where + ": spec.config.maxToolCalls: expected an integer from 1 to 100, got " + m);
      }
      maxToolCalls = m.asInt();
    }
    boolean kb = false;
    if (config.has("knowledgeBaseInPrompt")) {
      JsonNode k = config.get("knowledgeBaseInPrompt");
      if (!k.isBoolean()) {
        throw new FlightdeckException(where + ": spec.config.knowledgeBaseInPrompt: expected true or false, got " + k);
      }
      kb = k.asBoolean();
    }
    return new TriageConfig(doc.path("metadata").path("name").asText(), models.get(0).path("id").asText(),
        system.asText(), temperature, maxToolCalls, kb, modelBaseUrl, apiKey);
  }

  /** Never prints the key. */
  @Override
  public String toString() {
    return "TriageConfig[version=" + version + ", model=" + model + ", temperature=" + temperature + ", maxToolCalls="
        + maxToolCalls + ", knowledgeBaseInPrompt=" + knowledgeBaseInPrompt + ", modelBaseUrl=" + modelBaseUrl + "]";
  }
}

package dev.flightdeck.api.resource;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** The kinds of resource Flightdeck stores, with the names users may type for them. */
public enum Kind {
  AGENT("Agent", "agents", "agent", List.of("ag")),
  AGENT_VERSION("AgentVersion", "agentversions", "agentversion", List.of("av", "version", "versions")),
  ROLLOUT("Rollout", "rollouts", "rollout", List.of("ro")),
  EVAL_SUITE("EvalSuite", "evalsuites", "evalsuite", List.of("es", "suite", "suites")),
  MODEL_PROVIDER("ModelProvider", "modelproviders", "modelprovider", List.of("mp", "provider", "providers")),
  BUDGET("Budget", "budgets", "budget", List.of("bu"));

  /** The API group and version every resource declares in {@code apiVersion}. */
  public static final String API_VERSION = "flightdeck.dev/v1alpha1";

  private final String displayName;
  private final String plural;
  private final String singular;
  private final List<String> shortNames;

  Kind(String displayName, String plural, String singular, List<String> shortNames) {
    this.displayName = displayName;
    this.plural = plural;
    this.singular = singular;
    this.shortNames = shortNames;
  }

  /** The name used in {@code kind:} fields, e.g. {@code AgentVersion}. */
  public String displayName() {
    return displayName;
  }

  /** The lowercase plural used in API paths, e.g. {@code agentversions}. */
  public String plural() {
    return plural;
  }

  /** The lowercase singular used in CLI references, e.g. {@code agentversion/NAME}. */
  public String singular() {
    return singular;
  }

  /** The classpath name of this kind's JSON Schema file. */
  public String schemaFile() {
    return singular + ".schema.json";
  }

  /** Finds a kind by its exact {@code kind:} name. */
  public static Optional<Kind> fromDisplayName(String name) {
    return Arrays.stream(values()).filter(k -> k.displayName.equals(name)).findFirst();
  }

  /** Finds a kind by any name a user may type: Agent, agent, agents, ag (case-insensitive). */
  public static Optional<Kind> fromUserInput(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    return Arrays.stream(values())
        .filter(k -> k.displayName.toLowerCase(Locale.ROOT).equals(n)
            || k.plural.equals(n) || k.singular.equals(n) || k.shortNames.contains(n))
        .findFirst();
  }

  /** All {@code kind:} names, for error messages. */
  public static List<String> displayNames() {
    return Arrays.stream(values()).map(Kind::displayName).toList();
  }
}

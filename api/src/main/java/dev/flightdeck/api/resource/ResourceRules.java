package dev.flightdeck.api.resource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BiConsumer;

/**
 * Rules that span resources: references must name existing resources of the right agent,
 * AgentVersions are immutable, and nothing is deleted while another resource refers to it.
 * Pure functions over a {@link Lookup}, so the store can run them inside its transaction.
 */
public final class ResourceRules {

  /** What the rules may look at: the stored state with the batch being applied laid over it. */
  public interface Lookup {
    /** The resource of that kind and name, if it exists (or is being created in the batch). */
    Optional<Resource> find(Kind kind, String name);

    /** Every resource of a kind. */
    List<Resource> all(Kind kind);
  }

  private ResourceRules() {}

  /**
   * Checks that every name {@code r} refers to exists. Reports each missing reference as
   * (field path, message) to {@code problems}.
   */
  public static void checkReferences(Resource r, Lookup lookup, BiConsumer<String, String> problems) {
    JsonNode spec = r.spec();
    switch (r.kind()) {
      case AGENT -> {
        JsonNode routes = spec.path("routes");
        for (int i = 0; i < routes.size(); i++) {
          versionOf(r.name(), routes.get(i).path("version").asText(), "spec.routes[" + i + "].version", lookup, problems);
        }
        JsonNode rules = spec.path("rules");
        for (int i = 0; i < rules.size(); i++) {
          versionOf(r.name(), rules.get(i).path("version").asText(), "spec.rules[" + i + "].version", lookup, problems);
        }
        if (spec.has("shadow")) {
          versionOf(r.name(), spec.path("shadow").path("version").asText(), "spec.shadow.version", lookup, problems);
        }
      }
      case AGENT_VERSION -> exists(Kind.AGENT, spec.path("agent").asText(), "spec.agent", lookup, problems);
      case ROLLOUT -> {
        String agent = spec.path("agent").asText();
        if (exists(Kind.AGENT, agent, "spec.agent", lookup, problems)) {
          versionOf(agent, spec.path("candidate").asText(), "spec.candidate", lookup, problems);
        }
        JsonNode steps = spec.path("strategy").path("canary").path("steps");
        for (int i = 0; i < steps.size(); i++) {
          JsonNode gate = steps.get(i).path("evalGate");
          if (gate.has("suite")) {
            exists(Kind.EVAL_SUITE, gate.get("suite").asText(),
                "spec.strategy.canary.steps[" + i + "].evalGate.suite", lookup, problems);
          }
        }
      }
      case BUDGET -> {
        JsonNode selector = spec.path("selector");
        if (selector.has("agent")) {
          exists(Kind.AGENT, selector.get("agent").asText(), "spec.selector.agent", lookup, problems);
        }
        if (selector.has("version")) {
          exists(Kind.AGENT_VERSION, selector.get("version").asText(), "spec.selector.version", lookup, problems);
        }
      }
      case EVAL_SUITE, MODEL_PROVIDER -> { }
    }
  }

  /**
   * Why {@code incoming} may not replace {@code current}, if it may not: an AgentVersion's spec
   * never changes once applied.
   */
  public static Optional<String> immutabilityViolation(Resource incoming, Resource current) {
    if (incoming.kind() != Kind.AGENT_VERSION) {
      return Optional.empty();
    }
    String was = current.specDigest();
    String now = incoming.specDigest();
    if (was.equals(now)) {
      return Optional.empty();
    }
    return Optional.of(incoming.ref() + " is immutable: its spec differs from the one applied at resourceVersion "
        + current.metadata().resourceVersion() + " (stored " + shortDigest(was) + ", sent " + shortDigest(now)
        + "). Apply the change as a new AgentVersion with a new name (e.g. " + incoming.name()
        + "-2) and route traffic to it.");
  }

  /** The resources that refer to {@code target}, as {@code kind/name} references. */
  public static List<String> dependents(Resource target, Lookup lookup) {
    List<String> out = new ArrayList<>();
    String name = target.name();
    switch (target.kind()) {
      case AGENT -> {
        lookup.all(Kind.AGENT_VERSION).stream()
            .filter(v -> v.spec().path("agent").asText().equals(name)).forEach(v -> out.add(v.ref()));
        lookup.all(Kind.ROLLOUT).stream()
            .filter(ro -> ro.spec().path("agent").asText().equals(name)).forEach(ro -> out.add(ro.ref()));
      }
      case AGENT_VERSION -> {
        lookup.all(Kind.AGENT).stream().filter(a -> referencedVersions(a.spec()).contains(name))
            .forEach(a -> out.add(a.ref()));
        lookup.all(Kind.ROLLOUT).stream()
            .filter(ro -> ro.spec().path("candidate").asText().equals(name)).forEach(ro -> out.add(ro.ref()));
      }
      case EVAL_SUITE -> lookup.all(Kind.ROLLOUT).stream()
          .filter(ro -> ro.spec().path("strategy").path("canary").path("steps").findValuesAsText("suite").contains(name))
          .forEach(ro -> out.add(ro.ref()));
      case ROLLOUT, MODEL_PROVIDER, BUDGET -> { }
    }
    return out;
  }

  /** The status Flightdeck records for a newly stored resource (digest and pinned models). */
  public static ObjectNode initialStatus(Resource r) {
    ObjectNode status = Json.object();
    if (r.kind() == Kind.AGENT_VERSION) {
      status.put("digest", r.specDigest());
      var models = status.putArray("pinnedModels");
      r.spec().path("models").forEach(m -> models.add(m.path("provider").asText("openai") + "/" + m.path("id").asText()));
    }
    return status;
  }

  private static List<String> referencedVersions(JsonNode agentSpec) {
    List<String> v = new ArrayList<>(agentSpec.path("routes").findValuesAsText("version"));
    v.addAll(agentSpec.path("rules").findValuesAsText("version"));
    if (agentSpec.has("shadow")) {
      v.add(agentSpec.path("shadow").path("version").asText());
    }
    return v;
  }

  private static boolean exists(Kind kind, String name, String path, Lookup lookup, BiConsumer<String, String> problems) {
    if (lookup.find(kind, name).isPresent()) {
      return true;
    }
    problems.accept(path, kind.singular() + "/" + name + " does not exist; apply it first or in the same batch");
    return false;
  }

  private static void versionOf(String agent, String version, String path, Lookup lookup, BiConsumer<String, String> problems) {
    Optional<Resource> v = lookup.find(Kind.AGENT_VERSION, version);
    if (v.isEmpty()) {
      problems.accept(path, "agentversion/" + version + " does not exist; apply it first or in the same batch");
    } else if (!v.get().spec().path("agent").asText().equals(agent)) {
      problems.accept(path, "agentversion/" + version + " belongs to agent/" + v.get().spec().path("agent").asText()
          + ", not agent/" + agent);
    }
  }

  private static String shortDigest(String digest) {
    return digest.length() > 19 ? digest.substring(0, 19) + "..." : digest;
  }
}

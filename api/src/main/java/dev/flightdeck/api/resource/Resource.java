package dev.flightdeck.api.resource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.FlightdeckException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A resource in the Kubernetes style: kind, metadata, spec (what the user wants) and status
 * (what Flightdeck observed; written by Flightdeck only). Spec and status are kept as JSON trees
 * so that the store stays independent of each kind's fields; typed views live beside each kind.
 */
public record Resource(Kind kind, Metadata metadata, ObjectNode spec, ObjectNode status) {

  /** Validates the parts and takes defensive copies of the trees. */
  public Resource {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(metadata, "metadata");
    spec = spec.deepCopy();
    status = status.deepCopy();
  }

  /** A resource with an empty status, as a user writes it. */
  public static Resource of(Kind kind, Metadata metadata, ObjectNode spec) {
    return new Resource(kind, metadata, spec, Json.object());
  }

  /** The resource's name. */
  public String name() {
    return metadata.name();
  }

  /** {@code kind/name}, as the CLI and messages refer to it, e.g. {@code agent/support}. */
  public String ref() {
    return kind.singular() + "/" + metadata.name();
  }

  /** Digest of the spec alone: equal specs have equal digests whatever their key order. */
  public String specDigest() {
    return Json.digest(spec);
  }

  /** A copy with other metadata. */
  public Resource withMetadata(Metadata m) {
    return new Resource(kind, m, spec, status);
  }

  /** A copy with another status. */
  public Resource withStatus(ObjectNode s) {
    return new Resource(kind, metadata, spec, s);
  }

  /** The JSON form users see: apiVersion, kind, metadata, spec, status (omitted when empty). */
  public ObjectNode toJson() {
    ObjectNode root = Json.object();
    root.put("apiVersion", Kind.API_VERSION);
    root.put("kind", kind.displayName());
    ObjectNode m = root.putObject("metadata");
    m.put("name", metadata.name());
    if (!metadata.labels().isEmpty()) {
      ObjectNode l = m.putObject("labels");
      metadata.sortedLabels().forEach(l::put);
    }
    if (!metadata.annotations().isEmpty()) {
      ObjectNode a = m.putObject("annotations");
      new java.util.TreeMap<>(metadata.annotations()).forEach(a::put);
    }
    if (metadata.resourceVersion() > 0) {
      m.put("resourceVersion", Long.toString(metadata.resourceVersion()));
    }
    metadata.uid().ifPresent(u -> m.put("uid", u));
    metadata.creationTimestamp().ifPresent(t -> m.put("creationTimestamp", t.toString()));
    if (metadata.generation() > 0) {
      m.put("generation", metadata.generation());
    }
    root.set("spec", spec.deepCopy());
    if (!status.isEmpty()) {
      root.set("status", status.deepCopy());
    }
    return root;
  }

  /**
   * Reads the JSON form back. For documents that already passed validation, or came from the
   * store: structural problems here are bugs, reported as {@link FlightdeckException}.
   */
  public static Resource fromJson(JsonNode root) {
    Kind kind = Kind.fromDisplayName(root.path("kind").asText())
        .orElseThrow(() -> new FlightdeckException("unknown kind " + root.path("kind")));
    JsonNode m = root.path("metadata");
    Metadata metadata = new Metadata(
        m.path("name").asText(),
        stringMap(m.path("labels")),
        stringMap(m.path("annotations")),
        m.hasNonNull("resourceVersion") ? Long.parseLong(m.get("resourceVersion").asText()) : 0,
        m.hasNonNull("uid") ? Optional.of(m.get("uid").asText()) : Optional.empty(),
        m.hasNonNull("creationTimestamp")
            ? Optional.of(Instant.parse(m.get("creationTimestamp").asText())) : Optional.empty(),
        m.path("generation").asLong(0));
    ObjectNode spec = root.path("spec") instanceof ObjectNode o ? o : Json.object();
    ObjectNode status = root.path("status") instanceof ObjectNode o ? o : Json.object();
    return new Resource(kind, metadata, spec, status);
  }

  private static Map<String, String> stringMap(JsonNode node) {
    Map<String, String> out = new LinkedHashMap<>();
    node.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
    return out;
  }
}

package dev.flightdeck.api.resource;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Identity and bookkeeping of a resource. {@code resourceVersion} is 0 when the client did not
 * send one; uid, creation time and generation are set by the store.
 */
public record Metadata(
    String name,
    Map<String, String> labels,
    Map<String, String> annotations,
    long resourceVersion,
    Optional<String> uid,
    Optional<Instant> creationTimestamp,
    long generation) {

  /** Validates and freezes the maps (sorted, so output is stable). */
  public Metadata {
    Objects.requireNonNull(name, "name");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("metadata.name must not be empty");
    }
    labels = Map.copyOf(labels);
    annotations = Map.copyOf(annotations);
    if (resourceVersion < 0) {
      throw new IllegalArgumentException("resourceVersion must be >= 0, got " + resourceVersion);
    }
    Objects.requireNonNull(uid, "uid");
    Objects.requireNonNull(creationTimestamp, "creationTimestamp");
  }

  /** Metadata with only a name, as a user writes it. */
  public static Metadata named(String name) {
    return new Metadata(name, Map.of(), Map.of(), 0, Optional.empty(), Optional.empty(), 0);
  }

  /** Labels sorted by key. */
  public Map<String, String> sortedLabels() {
    return new TreeMap<>(labels);
  }

  /** A copy with the bookkeeping fields the store assigns. */
  public Metadata stored(long newResourceVersion, String newUid, Instant created, long newGeneration) {
    return new Metadata(name, labels, annotations, newResourceVersion, Optional.of(newUid),
        Optional.of(created), newGeneration);
  }

  /** A copy with another resourceVersion (0 clears it). */
  public Metadata withResourceVersion(long rv) {
    return new Metadata(name, labels, annotations, rv, uid, creationTimestamp, generation);
  }
}

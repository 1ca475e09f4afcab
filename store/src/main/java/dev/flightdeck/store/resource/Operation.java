package dev.flightdeck.store.resource;

/** What a change did to a resource. */
public enum Operation {
  /** The resource did not exist before. */
  CREATED,
  /** The resource existed and its spec, labels or annotations changed. */
  UPDATED,
  /** The resource was removed. */
  DELETED
}

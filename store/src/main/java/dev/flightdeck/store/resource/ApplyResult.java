package dev.flightdeck.store.resource;

import dev.flightdeck.api.resource.Resource;

/**
 * What applying one resource did.
 *
 * @param resource the resource as stored (with resourceVersion, uid, status)
 * @param change CREATED, UPDATED, or UNCHANGED when it already was exactly so
 */
public record ApplyResult(Resource resource, Change change) {

  /** The effect of an apply on one resource. */
  public enum Change {
    /** Did not exist; now does. */
    CREATED,
    /** Existed with other content; now has the new content. */
    UPDATED,
    /** Already had this content; nothing was written. */
    UNCHANGED
  }
}

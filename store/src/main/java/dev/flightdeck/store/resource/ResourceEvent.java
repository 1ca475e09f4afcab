package dev.flightdeck.store.resource;

import dev.flightdeck.api.resource.Resource;
import java.time.Instant;

/**
 * One stored version of a resource: an entry of its history, and an event of the watch feed.
 *
 * @param revision the global revision of the change (the resource's resourceVersion after it)
 * @param operation what the change did
 * @param principal who made it
 * @param at when it was committed
 * @param resource the resource as it was after the change (before it, for deletions)
 */
public record ResourceEvent(long revision, Operation operation, String principal, Instant at, Resource resource) {}

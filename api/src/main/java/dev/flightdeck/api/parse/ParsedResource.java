package dev.flightdeck.api.parse;

import dev.flightdeck.api.resource.Resource;

/**
 * A resource read from a file, with the map of where each of its fields stands, so that checks
 * made later (references to other resources, immutability) can still point at a line.
 */
public record ParsedResource(Resource resource, SourceMap sourceMap) {}

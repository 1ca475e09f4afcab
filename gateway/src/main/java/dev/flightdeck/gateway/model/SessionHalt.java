package dev.flightdeck.gateway.model;

import java.time.Instant;

/** A session the model gateway halted as a runaway: whose, why and when. */
public record SessionHalt(String agent, String version, String session, String reason, Instant at) {}

package dev.flightdeck.store.gateway;

/**
 * The version a conversation is pinned to.
 *
 * @param expiresAt epoch milliseconds after which the pin no longer holds
 */
public record SessionPin(String agent, String sessionId, String version, long createdAt, long expiresAt) {}

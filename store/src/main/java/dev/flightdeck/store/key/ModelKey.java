package dev.flightdeck.store.key;

import java.time.Instant;

/**
 * A virtual model key as stored: never the key itself, only whom it stands for. An agent sends the
 * key as its OpenAI API key and the gateway knows from it which agent and version is calling.
 *
 * @param id short id, safe to show, used to revoke it, e.g. {@code mk_7q2x5kd3nwa4}
 * @param name what it is for, e.g. {@code default} or {@code staging}
 * @param agent the agent of the version
 * @param version the AgentVersion the key belongs to
 * @param prefix the first 8 characters of the key after {@code fdk_}, to tell keys apart
 * @param createdAt when it was issued
 * @param createdBy who issued it
 * @param revokedAt when it was revoked; {@code null} while it is live (the gateway's contract)
 */
public record ModelKey(String id, String name, String agent, String version, String prefix, Instant createdAt,
    String createdBy, Instant revokedAt) {

  /** Whether the key still works (it was not revoked). */
  public boolean live() {
    return revokedAt == null;
  }
}

package dev.flightdeck.store.budget;

/**
 * A counter as stored: what settled calls used, what live reservations hold, and the limits
 * passed with its latest reservation (-1: none).
 */
public record CounterState(String key, String budget, Amount used, Amount reserved, long limitTokens,
    long limitNanoUsd) {}

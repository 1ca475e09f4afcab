package dev.flightdeck.store;

import java.sql.Connection;

/**
 * An open database transaction. Everything done through {@link #connection()} commits or rolls
 * back together; never commit, roll back or close the connection yourself.
 */
public record Tx(Connection connection, Dialect dialect) {}

package dev.flightdeck.store;

/** The SQL databases Flightdeck stores its state in. */
public enum Dialect {
  /** Embedded default: one file under the data directory. */
  SQLITE,
  /** Replicated deployments: several gateways and API replicas share one database. */
  POSTGRES
}

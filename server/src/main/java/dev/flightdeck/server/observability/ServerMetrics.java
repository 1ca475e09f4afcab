package dev.flightdeck.server.observability;

import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;

/**
 * The server's Prometheus metrics: API requests by method, route and status; store operations
 * by name; JVM basics. Routes are the templates ({@code /api/v1/agents/{name}}), never raw
 * paths, so that label cardinality stays bounded whatever clients send.
 */
public final class ServerMetrics implements AutoCloseable {

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final JvmGcMetrics gc = new JvmGcMetrics();

  /** Creates the registry with JVM metrics bound. */
  public ServerMetrics() {
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    gc.bindTo(registry);
  }

  /** Records one API request. */
  public void apiRequest(String method, String route, int status, long nanos) {
    Timer.builder("flightdeck.api.requests")
        .description("API requests by method, route template and status")
        .tag("method", method).tag("route", route).tag("status", Integer.toString(status))
        .register(registry).record(Duration.ofNanos(nanos));
  }

  /** Records one store operation. */
  public void storeOperation(String operation, long nanos) {
    Timer.builder("flightdeck.store.operations")
        .description("Store operations (transactions and reads) by name")
        .tag("operation", operation)
        .register(registry).record(Duration.ofNanos(nanos));
  }

  /** The registry, for other roles' meters (the gateway's). */
  public io.micrometer.core.instrument.MeterRegistry registry() {
    return registry;
  }

  /** The metrics in Prometheus' text format. */
  public String scrape() {
    return registry.scrape();
  }

  @Override
  public void close() {
    gc.close();
    registry.close();
  }
}

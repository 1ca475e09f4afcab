package dev.flightdeck.bench.gateway;

import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.parse.ResourceReader;
import dev.flightdeck.server.FlightdeckServer;
import dev.flightdeck.server.ServerOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

/**
 * Starts Flightdeck (embedded store in a temporary directory, API on a free port) with the
 * gateway on a given port, serving one agent per {@code name=url} argument, each with a single
 * version pointing at that upstream. Used by {@code bench/gateway/run.sh} and {@code sse.sh}.
 *
 * <pre>java -cp bench/target/benchmarks.jar dev.flightdeck.bench.gateway.GatewayBenchServer 7080 bench=http://127.0.0.1:9180</pre>
 */
public final class GatewayBenchServer {

  private GatewayBenchServer() {}

  /** Runs until killed. Arguments: the gateway port, then {@code agent=url[,url...]} pairs. */
  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 7080;
    Path dir = Files.createTempDirectory("flightdeck-bench-");
    FlightdeckServer server = FlightdeckServer.start(new ServerOptions(dir, Optional.empty(), "127.0.0.1", 0, port));
    StringBuilder yaml = new StringBuilder();
    for (int i = 1; i < args.length; i++) {
      String name = args[i].substring(0, args[i].indexOf('='));
      StringBuilder endpoints = new StringBuilder();
      for (String u : args[i].substring(name.length() + 1).split(",")) {
        endpoints.append("\n    - url: ").append(u);
      }
      yaml.append("""
          apiVersion: flightdeck.dev/v1alpha1
          kind: Agent
          metadata: {name: %1$s}
          spec:
            routes: [{version: %1$s-v1, weight: 100}]
          ---
          apiVersion: flightdeck.dev/v1alpha1
          kind: AgentVersion
          metadata: {name: %1$s-v1}
          spec:
            agent: %1$s
            models: [{id: gpt-4o-mini-2024-07-18}]
            timeouts: {idle: 10m, total: 1h}
            endpoints:%2$s
          ---
          """.formatted(name, endpoints));
    }
    String docs = yaml.toString().strip();
    if (docs.endsWith("---")) {
      docs = docs.substring(0, docs.length() - 3);
    }
    server.resources().apply(new ResourceReader().read(ResourceReader.Source.of("bench.yaml", docs)),
        Principal.SYSTEM, false);
    server.gateway().orElseThrow().reload();
    System.out.println("ready " + server.gatewayUrl().orElseThrow() + " pid " + ProcessHandle.current().pid());
    System.out.flush();
    CountDownLatch forever = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(server::close));
    forever.await();
  }
}

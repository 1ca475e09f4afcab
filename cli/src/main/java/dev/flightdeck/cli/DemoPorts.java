package dev.flightdeck.cli;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The demo's ports: each service's preferred port when it is free on 127.0.0.1, else a free one
 * the system picks. A port is tried by binding it, so one another program listens on is never
 * chosen; the time between choosing and the child binding it is a race the demo accepts (a child
 * that cannot bind fails its readiness check with its log).
 */
final class DemoPorts {

  /** A service's port, and the one it wanted when that was taken. */
  record Port(String service, int port, int preferred) {
    boolean moved() {
      return port != preferred;
    }
  }

  private final Map<String, Port> ports = new LinkedHashMap<>();
  private final Set<Integer> taken = new HashSet<>();

  /** Chooses a port for {@code service}: {@code preferred} if free, another free one otherwise. */
  int choose(String service, int preferred) {
    int port = !taken.contains(preferred) && free(preferred) ? preferred : anyFree();
    taken.add(port);
    ports.put(service, new Port(service, port, preferred));
    return port;
  }

  /** Every port chosen, in the order chosen. */
  Iterable<Port> all() {
    return ports.values();
  }

  /** Whether nothing listens on 127.0.0.1:{@code port} (0 or less: never free). */
  static boolean free(int port) {
    if (port <= 0) {
      return false;
    }
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true); // as servers bind: a port whose last connections are in TIME_WAIT is free
      s.bind(new InetSocketAddress("127.0.0.1", port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private int anyFree() {
    for (int i = 0; i < 20; i++) {
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress("127.0.0.1", 0));
        if (!taken.contains(s.getLocalPort())) {
          return s.getLocalPort();
        }
      } catch (IOException e) {
        throw new CliException(ExitCodes.FAILED, "error: cannot find a free port on 127.0.0.1: " + e.getMessage());
      }
    }
    throw new CliException(ExitCodes.FAILED, "error: cannot find a free port on 127.0.0.1");
  }
}

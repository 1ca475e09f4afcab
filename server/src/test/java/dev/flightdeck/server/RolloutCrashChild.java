package dev.flightdeck.server;

import java.nio.file.Path;
import java.util.Optional;

/** A server process for {@link RolloutCrashIT} to kill: prints its API port and, on first start, its token. */
public final class RolloutCrashChild {

  private RolloutCrashChild() {}

  /** Arguments: the data directory. */
  public static void main(String[] args) throws Exception {
    FlightdeckServer fd = FlightdeckServer.start(new ServerOptions(Path.of(args[0]), Optional.empty(), "127.0.0.1", 0, 0));
    fd.initialAdminToken().ifPresent(t -> System.out.println("token " + t.secret()));
    System.out.println("api " + fd.url());
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}

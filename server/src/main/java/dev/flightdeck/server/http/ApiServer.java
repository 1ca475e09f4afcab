package dev.flightdeck.server.http;

import dev.flightdeck.api.auth.Principal;
import dev.flightdeck.api.auth.Role;
import dev.flightdeck.api.parse.ResourceReader;
import dev.flightdeck.server.observability.ServerMetrics;
import dev.flightdeck.store.Database;
import dev.flightdeck.store.audit.AuditLog;
import dev.flightdeck.store.key.ModelKeyStore;
import dev.flightdeck.store.resource.ResourceStore;
import dev.flightdeck.store.token.ApiToken;
import dev.flightdeck.store.token.TokenStore;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.router.Endpoint;
import io.javalin.security.RouteRole;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The REST API on Javalin (Jetty 12, virtual threads). Every route declares its {@link Access};
 * the filter authenticates the bearer token and checks the role before any handler runs, and
 * refuses routes that declare nothing. Only /healthz and /readyz are open.
 */
public final class ApiServer implements AutoCloseable {

  /** Largest request body accepted (an apply of many files). */
  public static final long MAX_REQUEST_BYTES = 16L * 1024 * 1024;

  private final Javalin app;
  private final WatchApi watch;

  /** Builds the API over the stores; call {@link #start} to listen. */
  public ApiServer(Database db, ResourceStore resources, TokenStore tokens, ModelKeyStore modelKeys, AuditLog audit,
      ServerMetrics metrics, java.util.function.Supplier<Optional<dev.flightdeck.rollout.controller.RolloutController>> rollouts) {
    ResourceReader reader = new ResourceReader();
    this.watch = new WatchApi(resources);
    this.app = Javalin.create(config -> {
      config.concurrency.useVirtualThreads = true;
      config.http.maxRequestSize = MAX_REQUEST_BYTES;
      config.startup.showJavalinBanner = false;
      config.requestLogger.http((ctx, ms) -> metrics.apiRequest(ctx.method().name(), route(ctx),
          ctx.statusCode(), (long) (ms * 1_000_000)));
      config.routes.beforeMatched(ctx -> authorize(ctx, tokens));
      Problems.register(config.routes);
      new SystemApi(db, metrics).register(config.routes);
      new ResourceApi(resources, reader).register(config.routes);
      new TokenApi(tokens).register(config.routes);
      new ModelKeyApi(resources, modelKeys).register(config.routes);
      new BudgetApi(resources, new dev.flightdeck.store.budget.BudgetStore(db, java.time.Clock.systemUTC()))
          .register(config.routes);
      new AuditApi(audit).register(config.routes);
      new EvalApi(new dev.flightdeck.store.eval.EvalRunStore(db)).register(config.routes);
      new RolloutApi(rollouts).register(config.routes);
      watch.register(config.routes);
    });
  }

  /** Listens on host:port (0 = a free port) and returns the port. */
  public int start(String host, int port) {
    app.start(host, port);
    return app.port();
  }

  /** The routes the API serves, as {@code METHOD path} (for documentation drift checks). */
  public List<String> routes() {
    List<String> out = new ArrayList<>();
    for (var parsed : app.unsafe.internalRouter.allHttpHandlers()) {
      Endpoint e = parsed.endpoint;
      if (e.method.isHttpMethod() && !e.method.name().equals("HEAD") && !e.method.name().equals("OPTIONS")) {
        out.add(e.method.name() + " " + e.path);
      }
    }
    return out;
  }

  @Override
  public void close() {
    watch.close();
    app.stop();
  }

  private static void authorize(Context ctx, TokenStore tokens) {
    Set<RouteRole> roles = ctx.routeRoles();
    if (roles.contains(Access.OPEN)) {
      return;
    }
    Optional<Role> required = roles.stream().filter(r -> r instanceof Access).map(r -> ((Access) r).role())
        .flatMap(Optional::stream).findFirst();
    if (required.isEmpty()) {
      throw HttpProblem.forbidden("this endpoint declares no access rule, so it is refused");
    }
    String header = ctx.header("Authorization");
    if (header == null || header.isBlank()) {
      throw HttpProblem.unauthorized("missing Authorization header; send `Authorization: Bearer <token>`"
          + " (the first admin token is printed when the server first starts)");
    }
    if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw HttpProblem.unauthorized("expected `Authorization: Bearer <token>`");
    }
    ApiToken token = tokens.authenticate(header.substring(7).strip()).orElseThrow(() ->
        HttpProblem.unauthorized("the bearer token is unknown or revoked"));
    if (!token.role().includes(required.get())) {
      throw HttpProblem.forbidden("token " + token.name() + " has role " + token.role().id() + "; "
          + ctx.method() + " " + ctx.endpoint().path + " needs " + required.get().id());
    }
    ctx.attribute(Requests.PRINCIPAL, new Principal(token.principalName(), token.role()));
  }

  private static String route(Context ctx) {
    try {
      Endpoint e = ctx.endpoint();
      return e == null ? "unmatched" : e.path;
    } catch (RuntimeException e) {
      return "unmatched";
    }
  }
}

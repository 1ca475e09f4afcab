package dev.flightdeck.server.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flightdeck.api.NotFoundException;
import dev.flightdeck.api.resource.Json;
import dev.flightdeck.api.resource.Kind;
import dev.flightdeck.api.resource.Resource;
import dev.flightdeck.store.budget.Amount;
import dev.flightdeck.store.budget.BudgetStore;
import dev.flightdeck.store.budget.CounterState;
import dev.flightdeck.store.resource.ResourceStore;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.math.BigDecimal;
import java.util.List;
import java.util.Optional;

/**
 * What a budget's counters have spent: one counter per unit the budget is kept for (a session, a
 * version, an agent, a team) and period (a day, a month), as the budget store holds it.
 *
 * @param resources where the Budget is looked up (for its limits)
 * @param budgets the store every gateway replica reserves and settles in
 */
record BudgetApi(ResourceStore resources, BudgetStore budgets) {

  /** Counters per page at most. */
  static final int MAX_LIMIT = 1000;
  /** Longest {@code unit} and {@code after} accepted: a counter key is at most 400 characters. */
  private static final int MAX_KEY_PARAM = 400;

  void register(RoutesConfig r) {
    r.get("/api/v1/budgets/{name}/counters", this::counters, Access.VIEWER);
  }

  private void counters(Context ctx) {
    String name = ctx.pathParam("name");
    if (hasControl(name)) {
      throw HttpProblem.badRequest("budget name: expected no control characters");
    }
    String unit = keyParam(ctx, "unit");
    String after = keyParam(ctx, "after");
    long limit = Requests.longParam(ctx, "limit", 100);
    if (limit < 1 || limit > MAX_LIMIT) {
      throw HttpProblem.badRequest("query parameter limit: expected 1 to " + MAX_LIMIT + ", got " + limit);
    }
    String prefix = "budget/" + name + "/";
    // One more than asked tells whether there is a next page.
    List<CounterState> page = budgets.counters(prefix + (unit == null ? "" : unit),
        after == null ? null : prefix + after, (int) limit + 1);
    Optional<Resource> budget = resources.get(Kind.BUDGET, name);
    // Counters outlive a deleted budget (until they expire): still listed, so what was spent shows.
    if (budget.isEmpty() && page.isEmpty() && unit == null && after == null) {
      throw new NotFoundException("budget/" + name + " does not exist (see `flightdeck get budgets`)");
    }
    ObjectNode out = Json.object().put("budget", name);
    budget.ifPresentOrElse(b -> out.set("spec", b.spec()), () -> out.put("deleted", true));
    ArrayNode items = out.putArray("items");
    for (CounterState c : page.subList(0, (int) Math.min(limit, page.size()))) {
      ObjectNode n = items.addObject().put("counter", c.key().substring(prefix.length()));
      n.set("used", amount(c.used()));
      n.set("reserved", amount(c.reserved()));
      n.set("limit", amount(new Amount(c.limitTokens(), c.limitNanoUsd())));
      n.set("remaining", amount(new Amount(
          c.limitTokens() < 0 ? -1 : Math.max(0, c.limitTokens() - c.used().tokens() - c.reserved().tokens()),
          c.limitNanoUsd() < 0 ? -1 : Math.max(0, c.limitNanoUsd() - c.used().nanoUsd() - c.reserved().nanoUsd()))));
    }
    if (page.size() > limit) {
      out.put("next", page.get((int) limit - 1).key().substring(prefix.length()));
    }
    ResourceApi.json(ctx, 200, out);
  }

  /** Tokens and US dollars (exact, from nano-dollars); -1 (a dimension the budget does not limit) is null. */
  private static ObjectNode amount(Amount a) {
    ObjectNode n = Json.object();
    if (a.tokens() < 0) {
      n.putNull("tokens");
    } else {
      n.put("tokens", a.tokens());
    }
    if (a.nanoUsd() < 0) {
      n.putNull("usd");
    } else {
      // A decimal string: exact, and never in exponent form (0.000000123, not 1.23E-7).
      n.put("usd", BigDecimal.valueOf(a.nanoUsd(), 9).stripTrailingZeros().toPlainString());
    }
    return n;
  }

  private static String keyParam(Context ctx, String name) {
    String v = ctx.queryParam(name);
    if (v == null || v.isEmpty()) {
      return null;
    }
    if (v.length() > MAX_KEY_PARAM) {
      throw HttpProblem.badRequest("query parameter " + name + ": expected at most " + MAX_KEY_PARAM
          + " characters (a counter is at most that long), got " + v.length());
    }
    if (hasControl(v)) {
      throw HttpProblem.badRequest("query parameter " + name + ": expected no control characters (a counter has none)");
    }
    return v;
  }

  private static boolean hasControl(String s) {
    return s.chars().anyMatch(c -> c < 0x20 || c == 0x7f);
  }
}

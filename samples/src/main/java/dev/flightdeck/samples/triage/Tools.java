package dev.flightdeck.samples.triage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.openai.core.JsonValue;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import dev.flightdeck.api.resource.Json;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The agent's tools, run in-process over a small in-memory customer table and knowledge base:
 * {@code lookup_customer} (a field of the ticket sender's record) and {@code search_kb} (the
 * articles sharing the most words with a query). Results are JSON text, as the model reads them;
 * a bad call answers {@code {"error": ...}} to the model rather than failing the ticket.
 */
final class Tools {

  /** A customer record. */
  record Customer(String email, String company, String plan, String status, String region) {}

  /** A knowledge base article. */
  record Article(String id, String title, String body) {}

  static final List<Customer> CUSTOMERS = List.of(
      new Customer("ana@northwind.example", "Northwind", "pro", "active", "eu-west"),
      new Customer("raj@contoso.example", "Contoso", "enterprise", "active", "us-east"),
      new Customer("li@fabrikam.example", "Fabrikam", "free", "locked", "ap-south"),
      new Customer("sam@tailspin.example", "Tailspin", "team", "past_due", "us-west"),
      new Customer("eve@adventure.example", "Adventure Works", "enterprise", "active", "eu-central"));

  static final List<Article> ARTICLES = List.of(
      new Article("KB-101", "Duplicate charges and refunds",
          "A card charged twice is usually a pending authorisation that drops off within 5 business days. If both "
              + "charges settle, billing refunds the duplicate to the original card; refunds take 5 to 10 days."),
      new Article("KB-102", "Correcting an invoice",
          "Invoices can be reissued with a new company name, address or VAT number within 90 days. Billing needs "
              + "the invoice number and the corrected details; the original invoice is voided."),
      new Article("KB-201", "Password resets and lockouts",
          "Reset emails come from no-reply@flightdeck.example and expire after 30 minutes. After 5 failed sign-ins "
              + "an account is locked for an hour; the account team can unlock it after verifying the owner."),
      new Article("KB-202", "Lost two-factor device",
          "A customer who lost their two-factor device signs in with a recovery code. Without one, the account "
              + "team verifies identity by video call and resets two-factor; this takes up to one business day."),
      new Article("KB-203", "Single sign-on",
          "Enterprise workspaces can require SAML single sign-on from Settings, Security. The identity provider's "
              + "metadata URL and a verified domain are needed; members without an SSO identity lose access at once."),
      new Article("KB-301", "Outages and the status page",
          "When many customers cannot log in or pages fail with 5xx errors, check status.flightdeck.example. "
              + "Open incidents are handled by the on-call engineer; link the ticket to the incident."),
      new Article("KB-302", "API errors and rate limits",
          "HTTP 429 means the plan's rate limit was reached; 502 and 503 errors during an incident are retried by "
              + "the SDKs. Enterprise plans have a dedicated limit and a 1 hour response target."),
      new Article("KB-401", "Exporting data",
          "Workspace owners export all projects as CSV or JSON from Settings, Data, Export. Exports over 1 GB are "
              + "emailed as a download link that is valid for 7 days."),
      new Article("KB-403", "Deleting a workspace",
          "Owners delete a workspace from Settings, Danger zone. Data is kept for 30 days in case of a mistake, then "
              + "erased from backups within 60 days; invoices are kept for 10 years as the law requires."),
      new Article("KB-402", "Plans and seats",
          "Free has 3 seats, Team 20 and Pro 50; Enterprise is unlimited. Seats are prorated when added mid-cycle. "
              + "Downgrades take effect at the end of the billing period."));

  private static final Pattern EMAIL = Pattern.compile("[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}");
  private static final Set<String> FIELDS = Set.of("plan", "status", "region", "all");

  private Tools() {}

  /** The tools as the model sees them: names, descriptions and JSON-schema parameters. */
  static List<FunctionDefinition> definitions() {
    return List.of(
        FunctionDefinition.builder().name("lookup_customer")
            .description("Looks up the ticket sender's customer record (found by the email address in the ticket).")
            .parameters(schema(Map.of("field", Map.of("type", "string", "enum", List.of("plan", "status", "region", "all"),
                "description", "the field to return, or all")), List.of("field")))
            .build(),
        FunctionDefinition.builder().name("search_kb")
            .description("Searches the support knowledge base; returns the two best matching articles.")
            .parameters(schema(Map.of("q", Map.of("type", "string", "description", "what to search for")), List.of("q")))
            .build());
  }

  private static FunctionParameters schema(Map<String, Object> properties, List<String> required) {
    return FunctionParameters.builder()
        .putAdditionalProperty("type", JsonValue.from("object"))
        .putAdditionalProperty("properties", JsonValue.from(properties))
        .putAdditionalProperty("required", JsonValue.from(required))
        .putAdditionalProperty("additionalProperties", JsonValue.from(false))
        .build();
  }

  /** The whole knowledge base as text, for a prompt. */
  static String knowledgeBaseText() {
    return ARTICLES.stream().map(a -> a.id() + " " + a.title() + ": " + a.body()).collect(Collectors.joining("\n"));
  }

  /** Runs {@code tool} with its arguments for the given ticket; the result as JSON. */
  static JsonNode run(String tool, JsonNode args, String ticket) {
    return switch (tool) {
      case "lookup_customer" -> lookupCustomer(args, ticket);
      case "search_kb" -> searchKb(args);
      default -> error("unknown tool \"" + tool + "\"; the tools are lookup_customer and search_kb");
    };
  }

  private static JsonNode lookupCustomer(JsonNode args, String ticket) {
    String field = args.path("field").asText("");
    if (!FIELDS.contains(field)) {
      return error("field must be one of plan, status, region, all; got " + args.path("field"));
    }
    Matcher m = EMAIL.matcher(ticket);
    if (!m.find()) {
      return error("the ticket names no sender email, so there is no customer to look up");
    }
    String email = m.group().toLowerCase(Locale.ROOT);
    Customer c = CUSTOMERS.stream().filter(x -> x.email().equals(email)).findFirst().orElse(null);
    if (c == null) {
      return error("no customer with the email " + email);
    }
    ObjectNode out = Json.object().put("customer", c.email()).put("company", c.company());
    if (field.equals("plan") || field.equals("all")) {
      out.put("plan", c.plan());
    }
    if (field.equals("status") || field.equals("all")) {
      out.put("status", c.status());
    }
    if (field.equals("region") || field.equals("all")) {
      out.put("region", c.region());
    }
    return out;
  }

  private static JsonNode searchKb(JsonNode args) {
    String q = args.path("q").asText("");
    if (q.isBlank()) {
      return error("q must be a non-empty query");
    }
    Set<String> words = words(q);
    ArrayNode hits = Json.mapper().createArrayNode();
    ARTICLES.stream()
        .map(a -> Map.entry(a, overlap(words, words(a.title() + " " + a.body()))))
        .filter(e -> e.getValue() > 0)
        .sorted(Comparator.comparingLong((Map.Entry<Article, Long> e) -> e.getValue()).reversed())
        .limit(2)
        .forEach(e -> hits.addObject().put("id", e.getKey().id()).put("title", e.getKey().title())
            .put("summary", e.getKey().body()));
    ObjectNode out = Json.object().put("query", q);
    out.set("articles", hits);
    return out;
  }

  private static long overlap(Set<String> a, Set<String> b) {
    return a.stream().filter(b::contains).count();
  }

  private static Set<String> words(String text) {
    return Arrays.stream(text.toLowerCase(Locale.ROOT).split("[^\\p{L}\\p{N}]+"))
        .filter(w -> w.length() > 2)
        .collect(Collectors.toSet());
  }

  private static JsonNode error(String message) {
    return Json.object().put("error", message);
  }
}

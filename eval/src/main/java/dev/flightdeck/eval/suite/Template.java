package dev.flightdeck.eval.suite;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.Iterator;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Fills {@code ${name}} placeholders from a case's variables. A string that is exactly one
 * placeholder becomes the variable's JSON value (so numbers and objects keep their type); a
 * placeholder inside text becomes the value's text. {@code ${env:NAME}} reads the environment
 * (for tokens in headers), and {@code $${} is a literal {@code ${}.
 */
public final class Template {

  private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\$\\{|\\$\\{([A-Za-z_][A-Za-z0-9_.:-]{0,127})}");

  /** A placeholder that names nothing known. */
  public static final class UnknownVariable extends RuntimeException {
    private final String name;

    UnknownVariable(String name, String message) {
      super(message, null, false, false);
      this.name = name;
    }

    /** The placeholder's name. */
    public String name() {
      return name;
    }
  }

  private final Map<String, JsonNode> vars;
  private final Function<String, String> env;

  private Template(Map<String, JsonNode> vars, Function<String, String> env) {
    this.vars = vars;
    this.env = env;
  }

  /** A template over these variables and the process environment. */
  public static Template of(Map<String, JsonNode> vars) {
    return new Template(vars, System::getenv);
  }

  /** A template over these variables and the given environment lookup (tests). */
  public static Template of(Map<String, JsonNode> vars, Function<String, String> env) {
    return new Template(vars, env);
  }

  /** A copy of {@code node} with every placeholder in its strings filled. @throws UnknownVariable */
  public JsonNode render(JsonNode node) {
    if (node.isTextual()) {
      return renderText(node.asText());
    }
    if (node.isObject()) {
      ObjectNode out = JsonNodeFactory.instance.objectNode();
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        out.set(e.getKey(), render(e.getValue()));
      }
      return out;
    }
    if (node.isArray()) {
      ArrayNode out = JsonNodeFactory.instance.arrayNode();
      node.forEach(e -> out.add(render(e)));
      return out;
    }
    return node;
  }

  /** {@code text} with its placeholders filled, as text. @throws UnknownVariable */
  public String text(String text) {
    JsonNode v = renderText(text);
    return v.isTextual() ? v.asText() : v.toString();
  }

  private JsonNode renderText(String text) {
    Matcher m = PLACEHOLDER.matcher(text);
    if (m.matches() && m.group(1) != null) {
      return lookup(m.group(1));
    }
    StringBuilder sb = new StringBuilder();
    m.reset();
    boolean any = false;
    while (m.find()) {
      any = true;
      String replacement;
      if (m.group(1) == null) {
        replacement = "${";
      } else {
        JsonNode v = lookup(m.group(1));
        replacement = v.isTextual() ? v.asText() : v.toString();
      }
      m.appendReplacement(sb, Matcher.quoteReplacement(replacement));
    }
    if (!any) {
      return TextNode.valueOf(text);
    }
    m.appendTail(sb);
    return TextNode.valueOf(sb.toString());
  }

  private JsonNode lookup(String name) {
    if (name.startsWith("env:")) {
      String value = env.apply(name.substring(4));
      if (value == null) {
        throw new UnknownVariable(name, "environment variable " + name.substring(4) + " is not set");
      }
      return TextNode.valueOf(value);
    }
    JsonNode v = vars.get(name);
    if (v == null) {
      throw new UnknownVariable(name, "unknown variable ${" + name + "}; expected one of the case's vars "
          + vars.keySet() + " or ${env:NAME}");
    }
    return v;
  }
}

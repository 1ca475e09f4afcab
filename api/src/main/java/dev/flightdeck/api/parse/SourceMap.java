package dev.flightdeck.api.parse;

import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;

/** Where each value and each field name of one document stands in its file. */
public final class SourceMap {

  /** A 1-based line and column. */
  public record Position(int line, int column) {}

  private static final Pattern PLAIN_FIELD = Pattern.compile("[A-Za-z_][A-Za-z0-9_-]*");

  private final String source;
  private final Map<String, Position> values = new HashMap<>();
  private final Map<String, Position> keys = new HashMap<>();

  SourceMap(String source) {
    this.source = source;
  }

  /** A map with no positions, for resources that did not come from a file (API calls). */
  public static SourceMap none(String source) {
    return new SourceMap(source);
  }

  /** A map that places everything at one line (a row of a CSV file). */
  public static SourceMap line(String source, int line) {
    SourceMap m = new SourceMap(source);
    m.value("", new Position(line, 1));
    return m;
  }

  /** The file name this map belongs to. */
  public String source() {
    return source;
  }

  void value(String path, Position p) {
    values.put(path, p);
  }

  void key(String path, Position p) {
    keys.put(path, p);
  }

  /** Where the value at {@code path} starts; for a missing field, where its nearest parent starts. */
  public Position valuePosition(String path) {
    String p = path;
    while (true) {
      Position pos = values.get(p);
      if (pos != null) {
        return pos;
      }
      if (p.isEmpty()) {
        return new Position(0, 0);
      }
      p = parent(p);
    }
  }

  /** Where the field name at {@code path} stands (falls back to its value). */
  public Position keyPosition(String path) {
    Position pos = keys.get(path);
    return pos != null ? pos : valuePosition(path);
  }

  /** A diagnostic at the value of {@code path}. */
  public Diagnostic at(String path, String message) {
    Position p = valuePosition(path);
    return new Diagnostic(source, p.line(), p.column(), path, message);
  }

  /** A diagnostic at the field name of {@code path} (for unknown or duplicate fields). */
  public Diagnostic atKey(String path, String message) {
    Position p = keyPosition(path);
    return new Diagnostic(source, p.line(), p.column(), path, message);
  }

  /** The path of a field under {@code parent}: {@code spec.routes} or {@code labels["a.b/c"]}. */
  public static String field(String parent, String name) {
    if (PLAIN_FIELD.matcher(name).matches()) {
      return parent.isEmpty() ? name : parent + "." + name;
    }
    String quoted = "[\"" + name.replace("\\", "\\\\").replace("\"", "\\\"") + "\"]";
    return parent + quoted;
  }

  /** The path of an array element: {@code spec.routes[0]}. */
  public static String index(String parent, int i) {
    return parent + "[" + i + "]";
  }

  /** Copies the positions under {@code prefix} into {@code target}, re-rooted at "". */
  void copyUnder(String prefix, SourceMap target) {
    copy(values, target.values, prefix);
    copy(keys, target.keys, prefix);
  }

  private static void copy(Map<String, Position> from, Map<String, Position> to, String prefix) {
    from.forEach((path, pos) -> {
      if (path.equals(prefix)) {
        to.put("", pos);
      } else if (path.startsWith(prefix + ".")) {
        to.put(path.substring(prefix.length() + 1), pos);
      } else if (path.startsWith(prefix + "[")) {
        to.put(path.substring(prefix.length()), pos);
      }
    });
  }

  static String parent(String path) {
    if (path.endsWith("]")) {
      int open = path.endsWith("\"]") ? path.lastIndexOf("[\"") : path.lastIndexOf('[');
      return path.substring(0, Math.max(open, 0));
    }
    int dot = path.lastIndexOf('.');
    return dot < 0 ? "" : path.substring(0, dot);
  }
}

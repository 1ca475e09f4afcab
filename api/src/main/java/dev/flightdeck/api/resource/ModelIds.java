package dev.flightdeck.api.resource;

import java.util.regex.Pattern;

/** Model ids: which ones are aliases that float to whatever the provider ships next. */
public final class ModelIds {

  private static final Pattern ALIAS = Pattern.compile("(?i)(^|[-:/@.])(latest|default|stable|current)$");

  private ModelIds() {}

  /** Whether {@code id} is an alias (gpt-4o-latest, claude-3-5-sonnet-latest, ...), not a pinned id. */
  public static boolean isAlias(String id) {
    return ALIAS.matcher(id).find();
  }
}

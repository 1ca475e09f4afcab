package dev.flightdeck.cli;

import dev.flightdeck.api.parse.Suggestions;
import dev.flightdeck.api.resource.Kind;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** A kind and maybe a name, as typed: {@code agents}, {@code agent NAME} or {@code agent/NAME}. */
record Ref(Kind kind, Optional<String> name) {

  static Ref parse(List<String> args, boolean nameRequired) {
    if (args.isEmpty()) {
      throw new CliException(ExitCodes.INVALID, "error: expected a kind (" + kinds() + "), e.g. `agents` or `agent/NAME`");
    }
    String first = args.get(0);
    String kindText = first;
    Optional<String> name = args.size() > 1 ? Optional.of(args.get(1)) : Optional.empty();
    int slash = first.indexOf('/');
    if (slash >= 0) {
      kindText = first.substring(0, slash);
      name = Optional.of(first.substring(slash + 1));
      if (args.size() > 1) {
        throw new CliException(ExitCodes.INVALID, "error: give either KIND/NAME or KIND NAME, not both");
      }
    } else if (args.size() > 2) {
      throw new CliException(ExitCodes.INVALID, "error: expected KIND [NAME], got " + String.join(" ", args));
    }
    String k = kindText;
    Kind kind = Kind.fromUserInput(k).orElseThrow(() -> new CliException(ExitCodes.INVALID, "error: unknown kind \"" + k + "\""
        + Suggestions.closest(k, Arrays.stream(Kind.values()).map(Kind::plural).toList()).map(s -> "; did you mean " + s + "?").orElse("")
        + " Expected one of " + kinds()));
    if (nameRequired && name.filter(n -> !n.isBlank()).isEmpty()) {
      throw new CliException(ExitCodes.INVALID, "error: expected a name: " + kind.singular() + "/NAME");
    }
    return new Ref(kind, name);
  }

  /** One resource of {@code kind}, typed as NAME or KIND/NAME (any name of the kind); exit 2 for another kind. */
  static Ref named(Kind kind, String text) {
    String n = text;
    if (text.indexOf('/') >= 0) {
      Ref ref = parse(List.of(text), true);
      if (ref.kind() != kind) {
        throw new CliException(ExitCodes.INVALID, "error: expected NAME or " + kind.singular() + "/NAME, got " + text);
      }
      n = ref.name().orElseThrow();
    }
    if (n.isBlank()) {
      throw new CliException(ExitCodes.INVALID, "error: expected NAME or " + kind.singular() + "/NAME, got an empty name");
    }
    return new Ref(kind, Optional.of(n));
  }

  String path() {
    return "/api/v1/" + kind.plural() + name.map(n -> "/" + java.net.URLEncoder.encode(n, java.nio.charset.StandardCharsets.UTF_8)).orElse("");
  }

  String display() {
    return kind.singular() + name.map(n -> "/" + n).orElse("");
  }

  private static String kinds() {
    return String.join(", ", Arrays.stream(Kind.values()).map(Kind::plural).toList());
  }
}

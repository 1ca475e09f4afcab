package dev.flightdeck.eval.pii;

import dev.flightdeck.api.FlightdeckException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Finds and redacts personal data in text. Thread-safe; one shared instance is fine.
 *
 * <p>Each kind has its own finder (see the package's finder classes for what each reports and
 * what it deliberately leaves alone). Candidates that overlap are resolved greedily: the longer
 * one wins, and between equally long ones the more specific kind (API key, IBAN, card, SSN,
 * email, phone). Time is linear in the text for every kind; offsets are UTF-16 indices.
 */
public final class PiiDetector {

  private static final Set<PiiKind> ALL = EnumSet.allOf(PiiKind.class);

  private static final List<PiiKind> SPECIFICITY = List.of(
      PiiKind.API_KEY, PiiKind.IBAN, PiiKind.CARD, PiiKind.SSN, PiiKind.EMAIL, PiiKind.PHONE);

  private static final Comparator<PiiMatch> WINNER_FIRST =
      Comparator.comparingInt(PiiMatch::length).reversed()
          .thenComparingInt(m -> SPECIFICITY.indexOf(m.kind()))
          .thenComparingInt(PiiMatch::start);

  private static final int MAX_PASSES = 8;

  private static final PiiDetector STANDARD = new PiiDetector("US");

  private final Map<PiiKind, Finder> finders = new EnumMap<>(PiiKind.class);

  private PiiDetector(String phoneRegion) {
    finders.put(PiiKind.EMAIL, new EmailFinder());
    finders.put(PiiKind.PHONE, new PhoneFinder(phoneRegion));
    finders.put(PiiKind.CARD, new CardFinder());
    finders.put(PiiKind.IBAN, new IbanFinder());
    finders.put(PiiKind.SSN, new SsnFinder());
    finders.put(PiiKind.API_KEY, new ApiKeyFinder());
  }

  /** A detector for every kind, reading phone numbers without a country code as US numbers. */
  public static PiiDetector standard() {
    return STANDARD;
  }

  /** A detector for every kind, reading phone numbers without a country code in {@code region}. */
  public static PiiDetector withPhoneRegion(String region) {
    Objects.requireNonNull(region, "region");
    String upper = region.toUpperCase(Locale.ROOT);
    if (!PhoneFinder.isSupportedRegion(upper)) {
      throw new FlightdeckException("phone region \"" + region
          + "\" is not a region with a numbering plan; use an ISO 3166-1 two-letter code such as US, GB or DE");
    }
    return upper.equals("US") ? STANDARD : new PiiDetector(upper);
  }

  /**
   * The matches of the given kinds, sorted by start and non-overlapping: where candidates of the
   * kinds asked for overlap, the longer wins, then the more specific kind.
   */
  public List<PiiMatch> find(String text, Set<PiiKind> kinds) {
    Objects.requireNonNull(text, "text");
    Objects.requireNonNull(kinds, "kinds");
    List<PiiMatch> candidates = new ArrayList<>();
    for (PiiKind kind : kinds) {
      finders.get(Objects.requireNonNull(kind, "kinds must not contain null")).find(text, candidates);
    }
    candidates.sort(WINNER_FIRST);
    TreeMap<Integer, PiiMatch> kept = new TreeMap<>();
    for (PiiMatch c : candidates) {
      Map.Entry<Integer, PiiMatch> before = kept.floorEntry(c.start());
      Map.Entry<Integer, PiiMatch> after = kept.ceilingEntry(c.start());
      boolean overlaps = (before != null && before.getValue().end() > c.start())
          || (after != null && after.getKey() < c.end());
      if (!overlaps) {
        kept.put(c.start(), c);
      }
    }
    return List.copyOf(kept.values());
  }

  /**
   * The text with each match of every kind replaced by {@code [REDACTED:<kind id>]}; repeated until
   * nothing more is found, so redacting the result again changes nothing.
   */
  public String redact(String text) {
    String current = text;
    // A match can hide a shorter one that overlaps it (a PEM header glued to "a@b.com"); once the
    // winner is a token the other one stands alone, so look again. Every pass turns PII chars into
    // tokens that match nothing, so this settles, in practice by the second pass; the cap only
    // bounds the time a contrived input could take.
    for (int pass = 0; pass < MAX_PASSES; pass++) {
      List<PiiMatch> matches = find(current, ALL);
      if (matches.isEmpty()) {
        break;
      }
      StringBuilder sb = new StringBuilder(current.length());
      int pos = 0;
      for (PiiMatch m : matches) {
        sb.append(current, pos, m.start()).append("[REDACTED:").append(m.kind().id()).append(']');
        pos = m.end();
      }
      current = sb.append(current, pos, current.length()).toString();
    }
    return current;
  }
}

package dev.flightdeck.eval.pii;

import java.util.List;

/**
 * Finds the candidates of one kind. A finder may report candidates that overlap each other; the
 * detector resolves overlaps. It must run in time linear in the text and never throw on any String.
 */
sealed interface Finder permits EmailFinder, PhoneFinder, CardFinder, IbanFinder, SsnFinder, ApiKeyFinder {

  /** Adds every candidate in {@code text} to {@code out}. */
  void find(String text, List<PiiMatch> out);

  /** A letter, digit or combining mark of any script, or an underscore: what makes a "word". */
  static boolean isWordCodePoint(int cp) {
    if (Character.isLetterOrDigit(cp) || cp == '_') {
      return true;
    }
    int type = Character.getType(cp);
    return type == Character.NON_SPACING_MARK || type == Character.COMBINING_SPACING_MARK
        || type == Character.ENCLOSING_MARK;
  }

  /** The regex class of {@link #isWordCodePoint} for lookarounds. */
  String WORD = "[\\p{L}\\p{N}\\p{M}_]";
}

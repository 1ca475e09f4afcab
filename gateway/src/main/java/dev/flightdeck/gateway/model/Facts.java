package dev.flightdeck.gateway.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The words of a user message that an embedding cannot be trusted with: numbers, negations,
 * opposites and names. Two messages are a semantic match only when these agree, however close
 * their embeddings are. MiniLM scores "...check the status of order 1234" against "...order 1243"
 * at 0.96, "since then I can log in" against "...can't log in" at 0.97 and "notes from Monday"
 * against "notes from Tuesday" at 0.99: one word changes the meaning and hardly the vector.
 *
 * <p>A false conflict only costs a call upstream; a false match returns someone else's answer, so
 * the rules are strict and simple:
 *
 * <ul>
 *   <li>numbers: the digit runs and number words (one..twenty, first..tenth, tens, hundred,
 *       thousand, million, billion), in order, must be the same ("refund order 1234" is not
 *       "refund order 5678"; "twelve seats" is "12 seats");
 *   <li>negations: the count of negation words (not, no, never, n't, cannot, without, ...)
 *       must be the same ("can't" and "cannot" agree; "can" and "can't" do not);
 *   <li>opposites: words from a list of opposites and time words (on/off, enable/disable,
 *       first/last, today/tomorrow, weekdays, months, ...) present in either must be present
 *       in both, and no word may appear in one where the other has it with a negating prefix
 *       ("locked" and "unlocked", "correct" and "incorrect");
 *   <li>names: a word written with a capital letter anywhere but at the start of a sentence
 *       ("Monday", "Android", "iOS", "ACME"; not "I") must appear in the other message too, in
 *       any case.
 * </ul>
 */
record Facts(List<String> numbers, int negations, Set<String> opposites, Set<String> names, Set<String> words) {

  private static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}]+(?:'[\\p{L}]+)*");
  private static final Pattern DIGITS = Pattern.compile("\\p{Nd}+");

  private static final Map<String, String> NUMBER_WORDS = numberWords();
  private static final Set<String> NEGATIONS = Set.of("not", "no", "never", "none", "nothing", "nobody",
      "nowhere", "neither", "nor", "without", "cannot", "dont", "doesnt", "didnt", "cant", "couldnt",
      "wont", "wouldnt", "shouldnt", "isnt", "arent", "wasnt", "werent", "hasnt", "havent", "hadnt",
      "aint", "mustnt", "neednt");
  private static final Map<String, String> OPPOSITES = oppositeGroups();
  private static final List<String> NEGATING_PREFIXES = List.of("un", "in", "im", "il", "ir", "dis", "non");

  /** The facts of one message. */
  static Facts of(String text) {
    String t = text.replace('\u2019', '\'');
    List<String> numbers = new ArrayList<>();
    int negations = 0;
    Set<String> opposites = new TreeSet<>();
    Set<String> names = new TreeSet<>();
    Set<String> words = new HashSet<>();
    Matcher m = WORD.matcher(t);
    int previousEnd = -1;
    while (m.find()) {
      String raw = m.group();
      String w = raw.toLowerCase(Locale.ROOT);
      boolean sentenceStart = previousEnd < 0 || endsSentence(t.substring(previousEnd, m.start()));
      previousEnd = m.end();
      words.add(w);
      Matcher d = DIGITS.matcher(w);
      while (d.find()) {
        numbers.add(stripZeros(d.group()));
      }
      String number = NUMBER_WORDS.get(w);
      if (number != null) {
        numbers.add(number);
      }
      if (NEGATIONS.contains(w) || w.endsWith("n't")) {
        negations++;
      }
      String opposite = OPPOSITES.get(w);
      if (opposite != null) {
        opposites.add(opposite);
      }
      if (isName(raw, sentenceStart)) {
        names.add(w);
      }
    }
    return new Facts(List.copyOf(numbers), negations, opposites, names, words);
  }

  /** Why the two messages cannot mean the same, or empty when their facts agree. */
  Optional<String> conflictWith(Facts other) {
    if (!numbers.equals(other.numbers)) {
      return Optional.of("numbers differ: " + numbers + " and " + other.numbers);
    }
    if (negations != other.negations) {
      return Optional.of("negations differ: " + negations + " and " + other.negations);
    }
    if (!opposites.equals(other.opposites)) {
      return Optional.of("opposites differ: " + opposites + " and " + other.opposites);
    }
    for (String n : names) {
      if (!other.words.contains(n)) {
        return Optional.of("name only in one: " + n);
      }
    }
    for (String n : other.names) {
      if (!words.contains(n)) {
        return Optional.of("name only in one: " + n);
      }
    }
    Optional<String> prefixed = negatedWord(this, other);
    return prefixed.isPresent() ? prefixed : negatedWord(other, this);
  }

  /** A word of {@code a} that {@code b} has only with a negating prefix ("locked", "unlocked"). */
  private static Optional<String> negatedWord(Facts a, Facts b) {
    for (String w : b.words) {
      if (a.words.contains(w)) {
        continue;
      }
      for (String prefix : NEGATING_PREFIXES) {
        if (w.length() > prefix.length() + 2 && w.startsWith(prefix)) {
          String base = w.substring(prefix.length());
          if (a.words.contains(base) && !b.words.contains(base)) {
            return Optional.of("negated word: " + base + " and " + w);
          }
        }
      }
    }
    return Optional.empty();
  }

  /** Whether the text between two words ends a sentence. */
  private static boolean endsSentence(String between) {
    return between.chars().anyMatch(c -> c == '.' || c == '!' || c == '?' || c == ':' || c == '\n');
  }

  private static boolean isName(String raw, boolean sentenceStart) {
    if (raw.equals("I") || raw.startsWith("I'")) {
      return false;
    }
    for (int i = 1; i < raw.length(); i++) {
      if (Character.isUpperCase(raw.charAt(i))) {
        return true;
      }
    }
    return !sentenceStart && Character.isUpperCase(raw.charAt(0));
  }

  private static String stripZeros(String digits) {
    int i = 0;
    while (i < digits.length() - 1 && digits.charAt(i) == '0') {
      i++;
    }
    return digits.substring(i);
  }

  private static Map<String, String> numberWords() {
    Map<String, String> m = new HashMap<>();
    String[] ones = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
        "twenty"};
    for (int i = 0; i < ones.length; i++) {
      m.put(ones[i], Integer.toString(i));
    }
    String[] tens = {"thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};
    for (int i = 0; i < tens.length; i++) {
      m.put(tens[i], Integer.toString(30 + 10 * i));
    }
    m.put("hundred", "100");
    m.put("thousand", "1000");
    m.put("million", "1000000");
    m.put("billion", "1000000000");
    String[] ordinals = {"first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
        "tenth"};
    for (int i = 0; i < ordinals.length; i++) {
      m.put(ordinals[i], Integer.toString(i + 1));
    }
    return Map.copyOf(m);
  }

  /**
   * Word forms mapped to their group: a message naming a word of a group and one that does not
   * disagree. Groups are opposites that MiniLM places close together, and time words.
   */
  private static Map<String, String> oppositeGroups() {
    String[] groups = {
        "on", "off", "out",
        "enable enables enabled enabling", "disable disables disabled disabling",
        "activate activates activated activating", "deactivate deactivates deactivated deactivating",
        "allow allows allowed allowing", "block blocks blocked blocking", "deny denies denied denying",
        "accept accepts accepted accepting", "decline declines declined declining",
        "reject rejects rejected rejecting", "approve approves approved approving",
        "include includes included including", "exclude excludes excluded excluding",
        "import imports imported importing", "export exports exported exporting",
        "upload uploads uploaded uploading", "download downloads downloaded downloading",
        "increase increases increased increasing", "decrease decreases decreased decreasing",
        "upgrade upgrades upgraded upgrading", "downgrade downgrades downgraded downgrading",
        "add adds added adding", "remove removes removed removing", "delete deletes deleted deleting",
        "lock locks locked locking", "open opens opened opening", "close closes closed closing",
        "start starts started starting", "stop stops stopped stopping",
        "show shows showed shown showing", "hide hides hid hidden hiding",
        "buy buys bought buying", "sell sells sold selling", "send sends sent sending",
        "receive receives received receiving", "deposit deposits deposited depositing",
        "withdraw withdraws withdrew withdrawn withdrawing", "credit credits credited", "debit debits debited",
        "login", "logout", "before", "after", "early earlier earliest", "late later latest",
        "last", "min minimum", "max maximum", "more most", "less least", "fewer fewest",
        "higher highest", "lower lowest", "above", "below", "over", "under",
        "yes", "true", "false", "pass passed", "fail failed failing", "success successful", "failure",
        "public", "private", "old older oldest", "new newer newest", "cheap cheaper cheapest",
        "expensive", "always", "sometimes",
        "today", "tonight", "tomorrow", "yesterday",
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        "january", "february", "march", "april", "june", "july", "august", "september", "october",
        "november", "december",
    };
    Map<String, String> m = new HashMap<>();
    for (String group : groups) {
      String[] forms = group.split(" ");
      for (String f : forms) {
        m.put(f, forms[0]);
      }
    }
    return Map.copyOf(m);
  }
}

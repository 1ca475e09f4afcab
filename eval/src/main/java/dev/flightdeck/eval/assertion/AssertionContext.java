package dev.flightdeck.eval.assertion;

import java.util.Optional;
import java.util.function.ToDoubleBiFunction;

/**
 * What assertions may use beyond the run itself: text similarity (the MiniLM model, loaded only
 * when a semantic assertion runs) and the suite's judge.
 */
public record AssertionContext(ToDoubleBiFunction<String, String> similarity, Optional<Judge> judge) {}

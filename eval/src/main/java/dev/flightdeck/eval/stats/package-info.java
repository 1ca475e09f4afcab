/**
 * Statistics of the eval engine: per-case tallies of repeated runs turned into a suite summary
 * (pass rates, Wilson and cluster-robust intervals, pass^k and pass@k), a paired comparison of a
 * candidate against a baseline, and a sequential test that stops a case's runs early once its
 * verdict is settled. Formulas, small-sample choices and sources: {@code docs/eval-statistics.md}.
 */
package dev.flightdeck.eval.stats;

/**
 * The eval engine: runs a suite's cases N times against an agent, checks each run with output,
 * trajectory and judge assertions, and turns the verdicts into statistics that tell a regression
 * from noise (see {@code docs/eval.md}).
 */
package dev.flightdeck.eval;

/**
 * Personal data in agent answers: a detector that suites use to assert its absence and reports use
 * to redact it. Every pattern is linear in the input (bounded quantifiers, hand-written scanners
 * where a regex would rescan), because answers are untrusted text.
 */
package dev.flightdeck.eval.pii;

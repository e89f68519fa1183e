package dev.grace.cli.probe;

import dev.grace.cli.probe.Check.Verdict;

/** A check's verdict and its evidence, before the probe stamps it with a name and a time. */
record Graded(Verdict verdict, String evidence) {}

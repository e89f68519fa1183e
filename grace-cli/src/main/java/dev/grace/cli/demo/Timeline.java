package dev.grace.cli.demo;

import java.util.ArrayList;
import java.util.List;

/**
 * One scenario as it happened: each step is something one side did, stamped with the
 * milliseconds since the scenario began, and what the other side observed of it (stamped too)
 * once it did. Steps are recorded from the threads that saw them, so every method is synchronized.
 */
public final class Timeline {
    /** The two ends. */
    public enum Side { CLIENT, SERVER }

    /** What an action put on the wire, for the diagram. */
    public enum Arrow { DATA, FIN, RST, NONE }

    /** One step; {@code observed} is null until the other side saw it. */
    public static final class Step {
        final double ms;
        final Side side;
        final String action;
        final Arrow arrow;
        final long bytes;
        String observed;
        double observedMs;

        Step(double ms, Side side, String action, Arrow arrow, long bytes) {
            this.ms = ms;
            this.side = side;
            this.action = action;
            this.arrow = arrow;
            this.bytes = bytes;
        }
    }

    final String title;
    final String lesson;
    private final long startNanos = System.nanoTime();
    private final List<Step> steps = new ArrayList<>();

    public Timeline(String title, String lesson) {
        this.title = title;
        this.lesson = lesson;
    }

    private double now() {
        return (System.nanoTime() - startNanos) / 1e6;
    }

    /** {@code side} did {@code action}, putting {@code arrow} (with {@code bytes}) on the wire. */
    public synchronized Step act(Side side, String action, Arrow arrow, long bytes) {
        Step step = new Step(now(), side, action, arrow, bytes);
        steps.add(step);
        return step;
    }

    public Step act(Side side, String action) {
        return act(side, action, Arrow.NONE, 0);
    }

    /** The other side of {@code step} observed it as {@code what}, now. */
    public synchronized void observed(Step step, String what) {
        if (step.observed == null) {
            step.observed = what;
            step.observedMs = now();
        }
    }

    public synchronized List<Step> steps() {
        return List.copyOf(steps);
    }
}

package dev.grace.cli.probe;

/**
 * One check's result.
 *
 * @param name     {@code baseline}, {@code half-close}, ...
 * @param verdict  PASS, WARN, FAIL or INFO
 * @param evidence what the server did, in a sentence with the numbers
 * @param ms       how long the check took
 */
public record Check(String name, Verdict verdict, String evidence, long ms) {

    /** How a check went. INFO: observed, not graded. */
    public enum Verdict { PASS, WARN, FAIL, INFO }
}

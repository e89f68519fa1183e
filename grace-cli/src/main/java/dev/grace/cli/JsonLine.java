package dev.grace.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.util.MinimalPrettyPrinter;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * The {@code --json} output of probe and bench: one JSON value on one line, spaced
 * {@code {"key": value, "next": value}}. The bench scripts take fields out of it with sed
 * ({@code "rate": N, }), so the spacing and the order of the fields are part of the output.
 */
final class JsonLine {
    private static final JsonFactory FACTORY = JsonFactory.builder().enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN).build();

    /** Writes the fields of one value. */
    interface Body {
        void writeTo(JsonGenerator json) throws IOException;
    }

    private JsonLine() {}

    static String write(Body body) {
        StringWriter text = new StringWriter();
        try (JsonGenerator json = FACTORY.createGenerator(text)) {
            json.setPrettyPrinter(new Spaced());
            body.writeTo(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter never fails; a generator misused does
        }
        return text.toString();
    }

    /** {@code value} with exactly {@code places} decimals, rounded half up as {@code %.Nf} would print it. */
    static BigDecimal decimals(double value, int places) {
        return BigDecimal.valueOf(value).setScale(places, RoundingMode.HALF_UP);
    }

    /** No line breaks; a space after each colon and each comma. */
    private static final class Spaced extends MinimalPrettyPrinter {
        private static final long serialVersionUID = 1L;

        @Override
        public void writeObjectFieldValueSeparator(JsonGenerator json) throws IOException {
            json.writeRaw(": ");
        }

        @Override
        public void writeObjectEntrySeparator(JsonGenerator json) throws IOException {
            json.writeRaw(", ");
        }

        @Override
        public void writeArrayValueSeparator(JsonGenerator json) throws IOException {
            json.writeRaw(", ");
        }
    }
}

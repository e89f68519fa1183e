package dev.grace.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.opentest4j.TestAbortedException;

/** A missing program skips a test locally and fails it, by name, when GRACE_REQUIRE_TOOLS is set. */
class ToolsTest {
    private static final String NOWHERE = "grace-no-such-program";

    @Test
    void aMissingProgramSkipsLocallyAndFailsUnderRequireTools() {
        assertThat(Tools.find(NOWHERE)).isNull();
        if (Tools.required()) {
            assertThatThrownBy(() -> Tools.require(NOWHERE)).isInstanceOf(AssertionError.class)
                    .hasMessageContaining(NOWHERE + " is not installed").hasMessageContaining(Tools.REQUIRE);
        } else {
            assertThatThrownBy(() -> Tools.require(NOWHERE)).isInstanceOf(TestAbortedException.class)
                    .hasMessageContaining(NOWHERE + " is not installed");
        }
    }

    @Test
    void aProgramOnThePathIsFound() {
        assertThat(Tools.require("sh")).isExecutable();
    }
}

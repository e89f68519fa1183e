package dev.grace;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** grace-bom has no parent (so it leaks no build settings): its versions must still follow the build's. */
class BomTest {
    private static String first(Path pom, String regex) throws Exception {
        Matcher m = Pattern.compile(regex).matcher(Files.readString(pom));
        assertThat(m.find()).as("%s in %s", regex, pom).isTrue();
        return m.group(1);
    }

    @Test
    void theBomNamesTheNettyAndTheVersionGraceIsBuiltWith() throws Exception {
        Path parent = Path.of("..", "pom.xml");
        Path bom = Path.of("..", "grace-bom", "pom.xml");
        String versionTag = "<artifactId>grace-(?:parent|bom)</artifactId>\\s*<version>([^<]+)</version>";

        assertThat(first(bom, "<netty.version>([^<]+)</netty.version>"))
                .isEqualTo(first(parent, "<netty.version>([^<]+)</netty.version>"));
        assertThat(first(bom, versionTag)).isEqualTo(first(parent, versionTag));
    }
}

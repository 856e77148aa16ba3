package dev.abortguard.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Every {@code ```java} block in README.md and docs/ is a tagged region of a source that the build
 * compiles and a test runs: the {@code *SnippetsTest} classes beside this one, and the Spring Boot
 * starter's and the Micronaut module's {@code docs} test packages if they have one.
 */
class DocSnippetsTest {
  /** The repository: this module's parent. */
  private static final Path ROOT = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();
  private static final List<Path> SNIPPET_DIRS = List.of(
      ROOT.resolve("sample-server/src/test/java/dev/abortguard/docs"),
      ROOT.resolve("spring-boot-starter/src/test/java/dev/abortguard/spring/boot/docs"),
      ROOT.resolve("micronaut/src/test/java/dev/abortguard/micronaut/docs"));

  @Test
  void everyJavaBlockInTheDocsIsATaggedRegion() {
    assertTrue(Files.isRegularFile(ROOT.resolve("README.md")) && Files.isDirectory(ROOT.resolve("docs")),
        "README.md and docs/ not found under " + ROOT);
    SnippetCheck check = SnippetCheck.ofRepository(ROOT, SNIPPET_DIRS);
    assertTrue(check.blocks().stream().anyMatch(b -> b.file().equals("README.md")),
        "no ```java block found in README.md: is the extraction broken?");
    List<String> problems = check.problems();
    assertTrue(problems.isEmpty(), () -> problems.size() + " problem(s) with the docs' Java snippets:\n"
        + String.join("\n", problems));
  }

  @Test
  void everyTaggedRegionIsShownInTheDocs() {
    List<SnippetCheck.Region> unused = SnippetCheck.ofRepository(ROOT, SNIPPET_DIRS).unusedRegions();
    assertTrue(unused.isEmpty(), () -> "tagged regions no doc shows (remove them, or show them):\n"
        + unused.stream().map(r -> r.name() + " at " + r.where()).collect(Collectors.joining("\n")));
  }

  /** The check itself, on made-up docs and sources: it must be able to fail. */
  @Nested
  class TheCheck {
    // Markers are assembled so that this file holds no region of its own.
    private final String tag = "// " + "tag::";
    private final String end = "// " + "end::";

    private final List<String> source = List.of(
        "class Demo {",
        "  void demo() {",
        "    " + tag + "demo[]",
        "    Server server = guard.forPort(port)",
        "        .addService(myService)",
        "        .build();",
        "    " + end + "demo[]",
        "    " + tag + "other[]",
        "    int unrelated = 1;",
        "    " + end + "other[]",
        "  }",
        "}");

    @Test
    void aBlockEqualToARegionPasses() {
      SnippetCheck check = check(List.of(
          "Intro.",
          "",
          "```java",
          "Server server = guard.forPort(port)",
          "    .addService(myService)",
          "    .build();",
          "```"));
      assertEquals(List.of(), check.problems());
      assertEquals(1, check.blocks().size());
    }

    @Test
    void indentationAndTrailingWhitespaceDoNotCount() {
      SnippetCheck check = check(List.of(
          "1. In a list:",
          "",
          "   ```java",
          "",
          "   Server server = guard.forPort(port)   ",
          "       .addService(myService)",
          "       .build();",
          "   ```"));
      assertEquals(List.of(), check.problems());
    }

    @Test
    void aDriftedBlockIsReportedWithItsFileLineAndClosestRegion() {
      SnippetCheck check = check(List.of(
          "# Page",
          "",
          "```java",
          "Server server = guard.forPort(port)",
          "    .addServices(myService)",
          "    .build();",
          "```"));
      List<String> problems = check.problems();
      assertEquals(1, problems.size(), problems::toString);
      String problem = problems.get(0);
      assertTrue(problem.startsWith("docs/page.md:3: "), problem);
      assertTrue(problem.contains("closest: demo at Demo.java:3"), problem);
      assertTrue(problem.contains("line 2 of the block (docs/page.md:5)"), problem);
      assertTrue(problem.contains("doc:        .addServices(myService)"), problem);
      assertTrue(problem.contains("source:     .addService(myService)"), problem);
    }

    @Test
    void otherLanguagesAreNotChecked() {
      SnippetCheck check = check(List.of(
          "```xml",
          "<dependency/>",
          "```",
          "```",
          "./mvnw -B verify",
          "```"));
      assertEquals(List.of(), check.problems());
      assertEquals(0, check.blocks().size());
    }

    @Test
    void brokenMarkersAreReported() {
      SnippetCheck check = new SnippetCheck();
      check.addSource("Broken.java", List.of(tag + "open[]", "int a;", end + "never[]"));
      List<String> problems = check.problems();
      assertEquals(2, problems.size(), problems::toString);
      assertTrue(problems.contains("Broken.java:3: end::never[] without its tag"), problems::toString);
      assertTrue(problems.contains("Broken.java:1: tag::open[] never ended"), problems::toString);
    }

    @Test
    void unusedRegionsAreListed() {
      SnippetCheck check = check(List.of("```java", "int unrelated = 1;", "```"));
      assertEquals(List.of("demo"),
          check.unusedRegions().stream().map(SnippetCheck.Region::name).collect(Collectors.toList()));
      assertFalse(check.regions().isEmpty());
    }

    private SnippetCheck check(List<String> doc) {
      SnippetCheck check = new SnippetCheck();
      check.addDoc("docs/page.md", doc);
      check.addSource("Demo.java", source);
      return check;
    }
  }
}

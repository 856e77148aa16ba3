package dev.abortguard.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Checks of an artifact's shape, read from its compiled main classes ({@code target/classes}):
 * which public types it offers outside {@code dev.abortguard.internal}, that everything public
 * inside is marked {@code @Internal}, and that no two packages depend on each other through a
 * circle of classes. Each artifact's API test calls these with its own list.
 */
public final class ApiShape {
  private static final String INTERNAL = "dev.abortguard.internal";
  private static final Pattern JDEPS_EDGE = Pattern.compile("^\\s+(dev\\.abortguard\\.\\S+)\\s+->\\s+(dev\\.abortguard\\.\\S+)");

  private ApiShape() {}

  /** The module's compiled main classes, as Maven lays them out (the test runs in the module's folder). */
  public static Path mainClasses() {
    return Paths.get("target", "classes");
  }

  /**
   * Fails unless the public top-level types outside {@code dev.abortguard.internal} are exactly
   * {@code expected}: a new public type is API, and must be added on purpose.
   */
  public static void assertPublicApi(Path classes, String... expected) {
    Set<String> found = new TreeSet<>();
    for (Class<?> type : topLevelTypes(classes)) {
      if (Modifier.isPublic(type.getModifiers()) && !inInternal(type)) {
        found.add(type.getName());
      }
    }
    assertEquals(new TreeSet<>(List.of(expected)), found,
        "public types outside " + INTERNAL + " are this artifact's API. A type that users must not call "
            + "belongs under " + INTERNAL + " (marked @Internal) or is package-private; a new API type is "
            + "added to this test's list on purpose");
  }

  /** Fails if a public type under {@code dev.abortguard.internal} lacks {@code @Internal}. */
  public static void assertInternalMarked(Path classes) {
    List<String> unmarked = new ArrayList<>();
    for (Class<?> type : topLevelTypes(classes)) {
      if (Modifier.isPublic(type.getModifiers()) && inInternal(type)
          && !type.isAnnotationPresent(dev.abortguard.internal.Internal.class)) {
        unmarked.add(type.getName());
      }
    }
    assertTrue(unmarked.isEmpty(), "public types under " + INTERNAL + " without @Internal: " + unmarked);
  }

  /**
   * Fails if classes of two different packages reach each other (a strongly connected set of
   * classes, by their bytecode references, that spans packages), naming the classes of the circle.
   */
  public static void assertNoCircleAcrossPackages(Path classes) {
    Map<String, Set<String>> edges = classDependencies(classes);
    List<Set<String>> circles = new ArrayList<>();
    for (Set<String> component : stronglyConnected(edges)) {
      if (component.stream().map(ApiShape::packageOf).distinct().count() > 1) {
        circles.add(component);
      }
    }
    assertTrue(circles.isEmpty(), "classes in different packages that depend on each other: " + circles);
  }

  private static boolean inInternal(Class<?> type) {
    return type.getPackageName().equals(INTERNAL) || type.getPackageName().startsWith(INTERNAL + ".");
  }

  private static String packageOf(String className) {
    return className.substring(0, className.lastIndexOf('.'));
  }

  private static List<Class<?>> topLevelTypes(Path classes) {
    List<Class<?>> types = new ArrayList<>();
    for (String name : classNames(classes)) {
      if (name.contains("$") || name.endsWith("package-info") || name.endsWith("module-info")) {
        continue;
      }
      try {
        types.add(Class.forName(name, false, ApiShape.class.getClassLoader()));
      } catch (ClassNotFoundException e) {
        throw new AssertionError("compiled class not on the test class path: " + name, e);
      }
    }
    assertTrue(!types.isEmpty(), "no classes under " + classes.toAbsolutePath());
    return types;
  }

  private static List<String> classNames(Path classes) {
    try (Stream<Path> files = Files.walk(classes)) {
      return files.filter(f -> f.toString().endsWith(".class"))
          .map(f -> classes.relativize(f).toString().replace('/', '.').replace('\\', '.'))
          .map(f -> f.substring(0, f.length() - ".class".length()))
          .sorted()
          .collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Top-level class to the top-level classes of this artifact it refers to, as jdeps reads the bytecode. */
  private static Map<String, Set<String>> classDependencies(Path classes) {
    ToolProvider jdeps = ToolProvider.findFirst("jdeps")
        .orElseThrow(() -> new AssertionError("jdeps is missing: run the build on a JDK, not a JRE"));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = jdeps.run(new PrintWriter(out), new PrintWriter(err), "-verbose:class", "-filter:none",
        "-include", "dev\\.abortguard\\..*", classes.toString());
    assertEquals(0, status, "jdeps failed: " + err);
    Set<String> own = classNames(classes).stream().map(ApiShape::topLevel).collect(Collectors.toSet());
    Map<String, Set<String>> edges = new TreeMap<>();
    for (String line : out.toString().split("\n")) {
      Matcher m = JDEPS_EDGE.matcher(line);
      if (m.find()) {
        String from = topLevel(m.group(1));
        String to = topLevel(m.group(2));
        if (own.contains(from) && own.contains(to) && !from.equals(to)) {
          edges.computeIfAbsent(from, k -> new TreeSet<>()).add(to);
        }
      }
    }
    return edges;
  }

  private static String topLevel(String className) {
    int nested = className.indexOf('$');
    return nested < 0 ? className : className.substring(0, nested);
  }

  /** Tarjan's algorithm, iterative enough for a few hundred classes. */
  private static List<Set<String>> stronglyConnected(Map<String, Set<String>> edges) {
    Map<String, Integer> index = new HashMap<>();
    Map<String, Integer> low = new HashMap<>();
    Deque<String> stack = new ArrayDeque<>();
    Set<String> onStack = new TreeSet<>();
    List<Set<String>> components = new ArrayList<>();
    int[] counter = {0};
    for (String node : edges.keySet()) {
      if (!index.containsKey(node)) {
        connect(node, edges, index, low, stack, onStack, components, counter);
      }
    }
    return components;
  }

  private static void connect(String node, Map<String, Set<String>> edges, Map<String, Integer> index,
      Map<String, Integer> low, Deque<String> stack, Set<String> onStack, List<Set<String>> components,
      int[] counter) {
    index.put(node, counter[0]);
    low.put(node, counter[0]);
    counter[0]++;
    stack.push(node);
    onStack.add(node);
    for (String next : edges.getOrDefault(node, Set.of())) {
      if (!index.containsKey(next)) {
        connect(next, edges, index, low, stack, onStack, components, counter);
        low.put(node, Math.min(low.get(node), low.get(next)));
      } else if (onStack.contains(next)) {
        low.put(node, Math.min(low.get(node), index.get(next)));
      }
    }
    if (low.get(node).equals(index.get(node))) {
      Set<String> component = new TreeSet<>();
      String member;
      do {
        member = stack.pop();
        onStack.remove(member);
        component.add(member);
      } while (!member.equals(node));
      if (component.size() > 1) {
        components.add(component);
      }
    }
  }
}

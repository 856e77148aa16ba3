package dev.abortguard.docs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Checks that every {@code ```java} block of the docs is a tagged region of a compiled source:
 * the lines between {@code // tag::NAME[]} and {@code // end::NAME[]}, compared after stripping
 * trailing whitespace, blank edges and common indentation.
 */
final class SnippetCheck {
  private static final Pattern FENCE = Pattern.compile("^\\s*(`{3,}|~{3,})\\s*([\\w+-]*).*$");
  private static final Pattern TAG = Pattern.compile("^\\s*// (tag|end)::([\\w.-]+)\\[\\]\\s*$");

  /** A {@code ```java} block: where its opening fence is, and its text. */
  record Block(String file, int line, String text) {
    String where() {
      return file + ":" + line;
    }
  }

  /** A tagged region of a source: its name, where its tag is, and its text. */
  record Region(String name, String file, int line, String text) {
    String where() {
      return file + ":" + line;
    }
  }

  private final List<Block> blocks = new ArrayList<>();
  private final List<Region> regions = new ArrayList<>();
  private final List<String> problems = new ArrayList<>();

  /** The check of README.md and docs/ against the snippet sources, all under {@code root}. */
  static SnippetCheck ofRepository(Path root, List<Path> snippetDirs) {
    SnippetCheck check = new SnippetCheck();
    List<Path> docs = new ArrayList<>();
    docs.add(root.resolve("README.md"));
    docs.addAll(files(root.resolve("docs"), ".md"));
    for (Path doc : docs) {
      check.addDoc(root.relativize(doc).toString(), read(doc));
    }
    for (Path dir : snippetDirs) {
      for (Path source : files(dir, ".java")) {
        check.addSource(root.relativize(source).toString(), read(source));
      }
    }
    return check;
  }

  /** Takes the {@code ```java} blocks of a markdown file. */
  void addDoc(String file, List<String> lines) {
    String openFence = null;
    boolean java = false;
    int start = 0;
    List<String> body = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      Matcher fence = FENCE.matcher(line);
      if (openFence == null) {
        if (fence.matches()) {
          openFence = fence.group(1);
          java = fence.group(2).equals("java");
          start = i + 1;
          body.clear();
        }
      } else if (fence.matches() && fence.group(2).isEmpty() && closes(openFence, fence.group(1))) {
        if (java) {
          blocks.add(new Block(file, start, normalize(body)));
        }
        openFence = null;
      } else {
        body.add(line);
      }
    }
    if (openFence != null) {
      problems.add(file + ":" + start + ": code block never closed");
    }
  }

  /** Takes the tagged regions of a source; regions may nest, marker lines are left out of each. */
  void addSource(String file, List<String> lines) {
    Map<String, Integer> open = new LinkedHashMap<>();
    Map<String, List<String>> bodies = new LinkedHashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      Matcher tag = TAG.matcher(lines.get(i));
      if (!tag.matches()) {
        for (List<String> body : bodies.values()) {
          body.add(lines.get(i));
        }
        continue;
      }
      String name = tag.group(2);
      if (tag.group(1).equals("tag")) {
        if (open.containsKey(name)) {
          problems.add(file + ":" + (i + 1) + ": tag::" + name + "[] opened again before its end");
        }
        open.put(name, i + 1);
        bodies.put(name, new ArrayList<>());
      } else if (!open.containsKey(name)) {
        problems.add(file + ":" + (i + 1) + ": end::" + name + "[] without its tag");
      } else {
        regions.add(new Region(name, file, open.remove(name), normalize(bodies.remove(name))));
      }
    }
    open.forEach((name, line) -> problems.add(file + ":" + line + ": tag::" + name + "[] never ended"));
  }

  /**
   * What is wrong: malformed markers, duplicate region names, and each block that is no region,
   * with the closest region and the first line where they differ.
   */
  List<String> problems() {
    List<String> all = new ArrayList<>(problems);
    regions.stream()
        .collect(Collectors.groupingBy(Region::name, LinkedHashMap::new, Collectors.toList()))
        .forEach((name, same) -> {
          if (same.size() > 1) {
            all.add("region " + name + " is defined more than once: "
                + same.stream().map(Region::where).collect(Collectors.joining(", ")));
          }
        });
    for (Block block : blocks) {
      if (regions.stream().noneMatch(r -> r.text().equals(block.text()))) {
        all.add(mismatch(block));
      }
    }
    return all;
  }

  /** Regions no block shows: snippets the docs no longer use. */
  List<Region> unusedRegions() {
    return regions.stream()
        .filter(r -> blocks.stream().noneMatch(b -> b.text().equals(r.text())))
        .collect(Collectors.toList());
  }

  List<Block> blocks() {
    return blocks;
  }

  List<Region> regions() {
    return regions;
  }

  private String mismatch(Block block) {
    StringBuilder report = new StringBuilder(block.where())
        .append(": this ```java block is no tagged region of the snippet sources");
    Region closest = regions.stream()
        .min(Comparator.comparingInt((Region r) -> distance(r.text(), block.text())))
        .orElse(null);
    if (closest == null) {
      return report.append(" (there are none)").toString();
    }
    report.append("; closest: ").append(closest.name()).append(" at ").append(closest.where());
    List<String> doc = block.text().lines().collect(Collectors.toList());
    List<String> source = closest.text().lines().collect(Collectors.toList());
    for (int i = 0; i < Math.max(doc.size(), source.size()); i++) {
      String d = i < doc.size() ? doc.get(i) : "<nothing>";
      String s = i < source.size() ? source.get(i) : "<nothing>";
      if (!d.equals(s)) {
        report.append("\n  first difference, line ").append(i + 1).append(" of the block (")
            .append(block.file()).append(':').append(block.line() + 1 + i).append("):")
            .append("\n    doc:    ").append(d)
            .append("\n    source: ").append(s);
        break;
      }
    }
    return report.toString();
  }

  /** Strips trailing whitespace, blank first and last lines, and the indentation all lines share. */
  static String normalize(List<String> lines) {
    List<String> trimmed = lines.stream().map(String::stripTrailing).collect(Collectors.toList());
    int from = 0;
    int to = trimmed.size();
    while (from < to && trimmed.get(from).isEmpty()) {
      from++;
    }
    while (to > from && trimmed.get(to - 1).isEmpty()) {
      to--;
    }
    List<String> body = trimmed.subList(from, to);
    int indent = body.stream()
        .filter(l -> !l.isEmpty())
        .mapToInt(l -> l.length() - l.stripLeading().length())
        .min()
        .orElse(0);
    return body.stream()
        .map(l -> l.isEmpty() ? l : l.substring(indent))
        .collect(Collectors.joining("\n"));
  }

  /** Levenshtein distance, to name the region a drifted block came from. */
  static int distance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }

  private static boolean closes(String open, String candidate) {
    return candidate.charAt(0) == open.charAt(0) && candidate.length() >= open.length();
  }

  private static List<Path> files(Path dir, String suffix) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      return walk.filter(p -> p.toString().endsWith(suffix)).sorted().collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static List<String> read(Path file) {
    try {
      return Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

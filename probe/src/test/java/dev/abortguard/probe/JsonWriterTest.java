package dev.abortguard.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.abortguard.sample.e2e.Json;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonWriterTest {
  @Test
  void nestsIndentsAndInlines() {
    String json = new JsonWriter().beginObject()
        .name("a").value(1)
        .name("list").beginArray()
        .beginInlineObject().name("x").value(true).name("y").value((String) null).endInlineObject()
        .beginInlineObject().endInlineObject()
        .endArray()
        .name("empty").beginObject().endObject()
        .endObject().toString();
    assertEquals("{\n  \"a\": 1,\n  \"list\": [\n    {\"x\": true, \"y\": null},\n    {}\n  ],\n  \"empty\": {}\n}",
        json);
  }

  @Test
  void escapesStrings() {
    String json = new JsonWriter().beginObject().name("m").value("a \"quote\"\\ \n\t\u0001 é").endObject().toString();
    assertEquals(Map.of("m", "a \"quote\"\\ \n\t\u0001 é"), Json.parse(json));
  }

  @Test
  void readsBackWhatItWrites() {
    String json = new JsonWriter().beginArray().value(-3).value(false).value("s").endArray().toString();
    assertEquals(List.of(-3L, false, "s"), Json.parse(json));
  }
}

package dev.flightdeck.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/** What semantic shadow comparison compares: the text of an answer. */
class AnswerTextTest {

  private static String text(String body) {
    return ShadowMirror.answerText(body.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void jsonAnswersGiveTheirStringsWithoutIdsAndUsage() {
    assertThat(text("""
        {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m",
         "choices":[{"message":{"role":"assistant","content":"Billing queue."}}],
         "usage":{"prompt_tokens":3}, "tags":["a","b"]}"""))
        .isEqualTo("Billing queue.\na\nb");
  }

  @Test
  void streamedAnswersAreTheConcatenatedContent() {
    assertThat(text("""
        data: {"id":"1","choices":[{"delta":{"role":"assistant","content":"Bill"}}]}

        data: {"id":"2","choices":[{"delta":{"content":"ing queue."}}]}

        data: [DONE]

        """)).isEqualTo("Billing queue.");
  }

  @Test
  void otherBodiesAreTheirText() {
    assertThat(text("plain answer")).isEqualTo("plain answer");
    assertThat(text("{not json")).isEqualTo("{not json");
    assertThat(text("data: not json\n\n")).isEqualTo("data: not json\n\n");
  }

  @Property(tries = 300)
  void anyBytesGiveSomeTextAndNeverThrow(@ForAll byte[] body) {
    assertThat(ShadowMirror.answerText(body)).isNotNull();
  }
}

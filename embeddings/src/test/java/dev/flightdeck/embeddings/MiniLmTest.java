package dev.flightdeck.embeddings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The real model: paraphrases are close, unrelated answers are not. */
class MiniLmTest {

  @Test
  void paraphrasesAreCloserThanUnrelatedAnswers() {
    MiniLm m = MiniLm.shared();
    String a = "Your invoice was routed to the billing queue because the amount is wrong.";
    String paraphrase = "I sent the ticket to billing since the invoice amount is incorrect.";
    String unrelated = "The weather in Lisbon will be sunny with light winds tomorrow.";
    double close = m.similarity(a, paraphrase);
    double far = m.similarity(a, unrelated);
    assertThat(close).isGreaterThan(0.6);
    assertThat(far).isLessThan(0.3);
    assertThat(m.similarity(a, a)).isEqualTo(1.0);
    assertThat(m.embed(a)).hasSize(384);
    assertThat(m.embed("")).hasSize(384);
  }

  @Test
  void cosineChecksItsInput() {
    assertThat(MiniLm.cosine(new float[] {1, 0}, new float[] {0, 1})).isZero();
    assertThat(MiniLm.cosine(new float[] {1, 2}, new float[] {2, 4})).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(MiniLm.cosine(new float[] {0, 0}, new float[] {1, 1})).isZero();
    assertThatThrownBy(() -> MiniLm.cosine(new float[] {1}, new float[] {1, 2}))
        .hasMessageContaining("different lengths");
  }
}

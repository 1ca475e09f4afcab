package dev.flightdeck.api.parse;

import static org.assertj.core.api.Assertions.assertThat;

import dev.flightdeck.api.InvalidResourceException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Combinators;

/**
 * Untrusted bytes in, and only two outcomes out: resources, or an {@link InvalidResourceException}
 * whose every diagnostic names the file. No other exception, whatever the input.
 */
class ResourceReaderFuzzTest {

  private static final ResourceReader READER = new ResourceReader();
  private static final List<byte[]> SEEDS = seeds();

  private static List<byte[]> seeds() {
    try {
      return List.of(
          Files.readAllBytes(Path.of("..", "examples", "support-triage.yaml")),
          Files.readAllBytes(Path.of("..", "examples", "rollouts", "canary.yaml")),
          Files.readAllBytes(Path.of("..", "examples", "evalsuite.yaml")),
          ("[{\"apiVersion\":\"flightdeck.dev/v1alpha1\",\"kind\":\"Agent\",\"metadata\":{\"name\":\"a\"},"
              + "\"spec\":{\"routes\":[{\"version\":\"a-v1\",\"weight\":100}]}}]").getBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void readsCleanly(String name, byte[] input) {
    try {
      READER.read(new ResourceReader.Source(name, input));
    } catch (InvalidResourceException e) {
      assertThat(e.diagnostics()).allSatisfy(d -> {
        assertThat(d.source()).isEqualTo(name);
        assertThat(d.line()).isGreaterThanOrEqualTo(0);
        assertThat(d.message()).isNotBlank();
      });
    }
  }

  @Property(tries = 3000)
  void mutatedExamplesNeverEscapeAsOtherExceptions(@ForAll("mutants") byte[] input) {
    readsCleanly("fuzz.yaml", input);
    readsCleanly("fuzz.json", input);
  }

  @Property(tries = 1000)
  void randomBytesNeverEscapeAsOtherExceptions(@ForAll byte[] input) {
    readsCleanly("random.yaml", input);
  }

  @Provide
  Arbitrary<byte[]> mutants() {
    Arbitrary<byte[]> seed = Arbitraries.of(SEEDS);
    Arbitrary<Integer> position = Arbitraries.integers().between(0, 4000);
    Arbitrary<Byte> value = Arbitraries.of((byte) ':', (byte) '-', (byte) ' ', (byte) '\n', (byte) '{', (byte) '[',
        (byte) '&', (byte) '*', (byte) '"', (byte) '\'', (byte) 0, (byte) 0xC3, (byte) '9', (byte) '!', (byte) '|');
    Arbitrary<Integer> op = Arbitraries.integers().between(0, 3);
    return Combinators.combine(seed, position, value, op, Arbitraries.integers().between(1, 8))
        .as((s, pos, v, o, times) -> {
          byte[] b = s.clone();
          for (int i = 0; i < times; i++) {
            int p = Math.floorMod(pos * (i + 1) * 31, Math.max(1, b.length));
            b = switch (o) {
              case 0 -> replace(b, p, v);
              case 1 -> insert(b, p, v);
              case 2 -> java.util.Arrays.copyOf(b, p);
              default -> delete(b, p);
            };
          }
          return b;
        });
  }

  private static byte[] replace(byte[] b, int p, byte v) {
    if (b.length > 0) {
      b[p] = v;
    }
    return b;
  }

  private static byte[] insert(byte[] b, int p, byte v) {
    byte[] out = new byte[b.length + 1];
    System.arraycopy(b, 0, out, 0, p);
    out[p] = v;
    System.arraycopy(b, p, out, p + 1, b.length - p);
    return out;
  }

  private static byte[] delete(byte[] b, int p) {
    if (b.length == 0) {
      return b;
    }
    byte[] out = new byte[b.length - 1];
    System.arraycopy(b, 0, out, 0, p);
    System.arraycopy(b, p + 1, out, p, b.length - p - 1);
    return out;
  }
}

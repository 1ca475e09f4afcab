package dev.flightdeck.eval.pii;

import static dev.flightdeck.eval.pii.Texts.found;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Credentials by their published shapes, and PEM private keys with their bodies. */
class ApiKeyFinderTest {

  private static final String B62 = "aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0zAbCdEfGhIjKlMnOpQrStUvWxYz0123456789";

  static Stream<String> keys() {
    return Stream.of(
        "sk-" + B62.substring(0, 48), // OpenAI, legacy
        "sk-proj-" + B62 + "_-" + B62, // OpenAI project key
        "sk-svcacct-" + B62.substring(0, 40),
        "sk-ant-api03-" + B62 + "-" + B62.substring(0, 24) + "AA", // Anthropic
        "AKIAIOSFODNN7EXAMPLE", "ASIAY34FZKBOKMUTVV7A", // AWS access key ids
        "ghp_" + B62.substring(0, 36), "gho_" + B62.substring(1, 37), "ghs_" + B62.substring(2, 38),
        "github_pat_11ABCDEFG0123456789abc_" + B62.substring(0, 59),
        "xoxb-123456789012-1234567890123-" + B62.substring(0, 24), // Slack
        "AIzaSyD-" + B62.substring(0, 29) + "_a", // Google, 35 chars after AIza
        "sk_live_" + B62.substring(0, 24), "rk_live_" + B62 + B62.substring(0, 32), // Stripe
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0"
            + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"); // JWT
  }

  @ParameterizedTest
  @MethodSource("keys")
  void findsKeys_byTheirPublishedShapes(String key) {
    assertThat(found("export TOKEN=" + key + "\n", PiiKind.API_KEY)).containsExactly(key);
    assertThat(found("Authorization: Bearer " + key, PiiKind.API_KEY)).containsExactly(key);
    assertThat(found("{\"key\":\"" + key + "\"}", PiiKind.API_KEY)).containsExactly(key);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "use sk-learn-compatible-estimators-and-transformers-here", // prose with the prefix, no digits
      "task-sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ", // the prefix inside a word
      "sk-tooShort123", "AKIAIOSFODNN7EXAMPL", "AKIAIOSFODNN7EXAMPLE1", "akiaiosfodnn7example",
      "ghp_abcdefghijklmnopqrstuvwxyz012345678", "AIzaSyD-abcdefghijklmnopqrstuvwxyz01",
      "sk_test_abcdefghijklmnopqrstuvwx", "eyJhbGciOiJIUzI1NiJ9", "eyJ.eyJ.abc",
      "-----BEGIN PUBLIC KEY-----", "-----BEGIN CERTIFICATE-----", "xoxb-abcdefghijklmnop"})
  void ignoresStrings_thatOnlyResembleKeys(String text) {
    assertThat(found(text, PiiKind.API_KEY)).isEmpty();
  }

  @Test
  void coversAWholePemBlock_headerBodyAndFooter() {
    String pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n"
        + "4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u\n"
        + "+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyeh\n"
        + "-----END RSA PRIVATE KEY-----";
    assertThat(found("Here it is:\n" + pem + "\nKeep it safe.", PiiKind.API_KEY)).containsExactly(pem);
  }

  @Test
  void coversAnEncryptedPemBlock_withItsHeaderFields() {
    String pem = "-----BEGIN RSA PRIVATE KEY-----\r\nProc-Type: 4,ENCRYPTED\r\n"
        + "DEK-Info: AES-128-CBC,3F17F5316E2BAC89BB8E5B0E2A7E5C3A\r\n\r\n"
        + "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\r\n-----END RSA PRIVATE KEY-----";
    assertThat(found(pem + "\r\n", PiiKind.API_KEY)).containsExactly(pem);
  }

  @Test
  void coversAPemBlock_insideAJsonString() {
    String pem = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\nAAA=\\n-----END PRIVATE KEY-----";
    assertThat(found("{\"private_key\":\"" + pem + "\\n\"}", PiiKind.API_KEY)).containsExactly(pem);
  }

  @Test
  void coversAPemBlock_whoseLineBreaksWereFlattened() {
    String pem = "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ AAAA== "
        + "-----END OPENSSH PRIVATE KEY-----";
    assertThat(found(pem + " done", PiiKind.API_KEY)).containsExactly(pem);
  }

  @Test
  void coversTheBodyOfATruncatedPemBlock() {
    String text = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49\n";
    assertThat(found(text + "(the rest was cut)", PiiKind.API_KEY)).containsExactly(text.strip());
  }

  @Test
  void coversOnlyTheHeader_whenProseFollowsIt() {
    String text = "The line -----BEGIN PRIVATE KEY----- starts a PKCS #8 key.";
    assertThat(found(text, PiiKind.API_KEY)).containsExactly("-----BEGIN PRIVATE KEY-----");
  }

  @Test
  void findsBothBlocks_whenTwoPemBlocksFollowEachOther() {
    String one = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----";
    String two = "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBF\n=nQzs\n"
        + "-----END PGP PRIVATE KEY BLOCK-----";
    assertThat(found(one + "\n" + two, PiiKind.API_KEY)).containsExactly(one, two);
  }
}

package dev.flightdeck.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code flightdeck agent support-triage}: what it refuses before it listens. */
class AgentCommandTest {

  record Run(int code, String out, String err) {}

  @AfterEach
  void restore() {
    Connection.env = System.getenv();
  }

  private static Run cli(Map<String, String> env, String... args) {
    Connection.env = env;
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void refusesToStartWithoutAModelKey() {
    Run r = cli(Map.of(), "agent", "support-triage", "--resources", "../examples/support-triage.yaml",
        "--version", "support-triage-v1", "--port", "0");
    assertThat(r.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(r.err()).contains("no model key: set FLIGHTDECK_MODEL_KEY").contains("OPENAI_API_KEY");
  }

  @Test
  void anUnknownVersionIsAnInvalidInput() {
    Run r = cli(Map.of("OPENAI_API_KEY", "sim"), "agent", "support-triage", "--resources",
        "../examples/support-triage.yaml", "--version", "support-triage-v7", "--port", "0");
    assertThat(r.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(r.err()).contains("no AgentVersion named \"support-triage-v7\"; it has support-triage-v1, support-triage-v2, support-triage-v3");
  }

  @Test
  void theResourcesFileAndVersionAreRequired() {
    Run r = cli(Map.of("OPENAI_API_KEY", "sim"), "agent", "support-triage", "--port", "0");
    assertThat(r.code()).isEqualTo(ExitCodes.INVALID);
    assertThat(r.err()).contains("Missing required options").contains("--resources").contains("--version");
  }
}

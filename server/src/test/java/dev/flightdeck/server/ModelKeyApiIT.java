package dev.flightdeck.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flightdeck.store.key.ModelKey;
import dev.flightdeck.store.key.ModelKeyStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Virtual model keys over real HTTP on loopback: who may issue them, what is shown, revocation, bad input. */
class ModelKeyApiIT {

  private static final String KEYS = "/api/v1/agentversions/support-triage-v1/keys";

  @TempDir Path dir;
  private FlightdeckServer server;
  private ApiClient admin;
  private ApiClient operator;
  private ApiClient viewer;

  @BeforeEach
  void start() throws Exception {
    server = FlightdeckServer.start(new ServerOptions(dir, Optional.empty(), "127.0.0.1", 0, -1));
    admin = new ApiClient(server.url(), Optional.of(server.initialAdminToken().orElseThrow().secret()));
    operator = admin.as(token("deployer", "operator"));
    viewer = admin.as(token("dashboard", "viewer"));
    ApiClient.Response applied = admin.applyFiles("support-triage.yaml",
        Files.readString(Path.of("..", "examples", "support-triage.yaml")));
    assertThat(applied.status()).as(applied.body()).isEqualTo(200);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private String token(String name, String role) {
    return admin.postJson("/api/v1/tokens", "{\"name\":\"" + name + "\",\"role\":\"" + role + "\"}").json().path("token").asText();
  }

  @Test
  void anOperatorIssuesAKey_shownOnce_andTheGatewayTableKnowsItsAgentAndVersion() {
    ApiClient.Response created = operator.postJson(KEYS, "{\"name\":\"staging\"}");
    assertThat(created.status()).as(created.body()).isEqualTo(201);
    JsonNode k = created.json();
    assertThat(k.path("id").asText()).matches("mk_[a-z2-7]{12}");
    assertThat(k.path("name").asText()).isEqualTo("staging");
    assertThat(k.path("agent").asText()).isEqualTo("support-triage");
    assertThat(k.path("version").asText()).isEqualTo("support-triage-v1");
    assertThat(k.path("createdBy").asText()).isEqualTo("token:deployer");
    assertThat(k.path("createdAt").asText()).isNotEmpty();
    assertThat(k.has("revokedAt")).isFalse();
    String secret = k.path("key").asText();
    assertThat(secret).matches("fdk_[A-Za-z0-9_-]{43}");
    assertThat(k.path("prefix").asText()).isEqualTo(secret.substring(4, 12));

    ModelKey stored = server.modelKeys().liveByHash().get(ModelKeyStore.hash(secret));
    assertThat(stored).extracting(ModelKey::id, ModelKey::agent, ModelKey::version)
        .containsExactly(k.path("id").asText(), "support-triage", "support-triage-v1");

    // Without a body the key is called "default".
    ApiClient.Response unnamed = operator.send("POST", KEYS, null, null);
    assertThat(unnamed.status()).as(unnamed.body()).isEqualTo(201);
    assertThat(unnamed.json().path("name").asText()).isEqualTo("default");
  }

  @Test
  void aViewerListsKeysWithoutSecrets_butMayNotIssueOrRevoke() {
    String secret = operator.postJson(KEYS, "{}").json().path("key").asText();
    String id = operator.postJson(KEYS, "{\"name\":\"second\"}").json().path("id").asText();

    assertThat(viewer.postJson(KEYS, "{}").status()).isEqualTo(403);
    ApiClient.Response refused = viewer.delete("/api/v1/modelkeys/" + id);
    assertThat(refused.status()).isEqualTo(403);
    assertThat(refused.json().path("detail").asText()).contains("needs operator");

    ApiClient.Response listed = viewer.get(KEYS);
    assertThat(listed.status()).isEqualTo(200);
    assertThat(listed.json().path("items")).extracting(n -> n.path("name").asText()).containsExactly("second", "default");
    assertThat(listed.json().path("items").get(1).path("prefix").asText()).isEqualTo(secret.substring(4, 12));
    assertThat(listed.body()).doesNotContain(secret.substring(12)).doesNotContain("\"key\"");
    assertThat(viewer.get("/api/v1/agentversions/support-triage-v2/keys").json().path("items")).isEmpty();
  }

  @Test
  void revokingTakesTheKeyOutOfTheLiveTable_onceAndAudited() {
    JsonNode k = operator.postJson(KEYS, "{}").json();
    String id = k.path("id").asText();
    long before = server.modelKeys().revision();

    ApiClient.Response revoked = operator.delete("/api/v1/modelkeys/" + id);
    assertThat(revoked.status()).as(revoked.body()).isEqualTo(200);
    assertThat(revoked.json().path("id").asText()).isEqualTo(id);
    assertThat(revoked.json().path("revokedAt").asText()).isNotEmpty();
    assertThat(revoked.body()).doesNotContain(k.path("key").asText());
    assertThat(server.modelKeys().liveByHash()).doesNotContainKey(ModelKeyStore.hash(k.path("key").asText()));
    assertThat(server.modelKeys().revision()).isNotEqualTo(before);
    assertThat(operator.get(KEYS).json().path("items").get(0).path("revokedAt").asText())
        .isEqualTo(revoked.json().path("revokedAt").asText());

    ApiClient.Response again = operator.delete("/api/v1/modelkeys/" + id);
    assertThat(again.status()).isEqualTo(200);
    assertThat(again.json()).isEqualTo(revoked.json());

    JsonNode audit = operator.get("/api/v1/audit").json().path("items");
    assertThat(audit).filteredOn(e -> e.path("action").asText().startsWith("modelkey."))
        .extracting(e -> e.path("action").asText() + " " + e.path("resource").asText() + " " + e.path("principal").asText())
        .containsExactly("modelkey.create agentversion/support-triage-v1 token:deployer",
            "modelkey.revoke agentversion/support-triage-v1 token:deployer");
    assertThat(audit.toString()).contains(id).doesNotContain(k.path("key").asText().substring(4));
  }

  @Test
  void unknownVersionsAndKeysAreNotFound_butKeysOfADeletedVersionCanStillBeListedAndRevoked() {
    ApiClient.Response noVersion = operator.postJson("/api/v1/agentversions/nope/keys", "{}");
    assertThat(noVersion.status()).isEqualTo(404);
    assertThat(noVersion.json().path("detail").asText()).isEqualTo("agentversion/nope does not exist (see `flightdeck get agentversions`)");
    assertThat(operator.get("/api/v1/agentversions/nope/keys").status()).isEqualTo(404);
    ApiClient.Response noKey = operator.delete("/api/v1/modelkeys/mk_aaaaaaaaaaaa");
    assertThat(noKey.status()).isEqualTo(404);
    assertThat(noKey.json().path("detail").asText()).contains("no model key with id mk_aaaaaaaaaaaa");

    assertThat(admin.applyFiles("v9.yaml", """
        apiVersion: flightdeck.dev/v1alpha1
        kind: AgentVersion
        metadata: {name: support-triage-v9}
        spec:
          agent: support-triage
          endpoints: [{url: "http://127.0.0.1:9109"}]
          models: [{id: gpt-4o-mini-2024-07-18, provider: openai}]
        """).status()).isEqualTo(200);
    String id = operator.postJson("/api/v1/agentversions/support-triage-v9/keys", "{}").json().path("id").asText();
    assertThat(operator.delete("/api/v1/agentversions/support-triage-v9").status()).isEqualTo(200);
    assertThat(operator.get("/api/v1/agentversions/support-triage-v9/keys").json().path("items"))
        .extracting(n -> n.path("id").asText()).containsExactly(id);
    assertThat(operator.delete("/api/v1/modelkeys/" + id).status()).isEqualTo(200);
  }

  @Test
  void malformedBodiesGetA400SayingWhatIsWrong() {
    assertThat(problem("{nope")).startsWith("body: expected a JSON object such as {\"name\": \"staging\"}: ")
        .contains("line 1, column");
    assertThat(problem("[\"staging\"]")).isEqualTo("body: expected a JSON object such as {\"name\": \"staging\"}, got array");
    assertThat(problem("{\"name\": 42}")).isEqualTo("name: expected a string of 1 to 128 characters, got 42");
    assertThat(problem("{\"name\": null}")).isEqualTo("name: expected a string of 1 to 128 characters, got null");
    assertThat(problem("{\"name\": \"  \"}")).isEqualTo("name: expected a string of 1 to 128 characters, got 2 characters");
    assertThat(problem("{\"name\": \"" + "n".repeat(129) + "\"}"))
        .isEqualTo("name: expected a string of 1 to 128 characters, got 129 characters");
    assertThat(problem("{\"nmae\": \"staging\"}")).isEqualTo("nmae: unknown field; the body takes only \"name\", e.g. {\"name\": \"staging\"}");
    assertThat(problem("{\"name\": \"" + "n".repeat(5000) + "\"}")).isEqualTo("body: at most 4096 bytes, got 5012");
    assertThat(operator.get(KEYS).json().path("items")).isEmpty();
    assertThat(operator.postJson(KEYS, "{\"name\": \"" + "n".repeat(128) + "\"}").status()).isEqualTo(201);
  }

  private String problem(String body) {
    ApiClient.Response r = operator.postJson(KEYS, body);
    assertThat(r.status()).as(r.body()).isEqualTo(400);
    assertThat(r.contentType()).startsWith("application/problem+json");
    return r.json().path("detail").asText();
  }
}

package dev.flightdeck.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClientConfigTest {

  @TempDir Path home;

  private void file(String text) throws Exception {
    Path f = home.resolve(".flightdeck/config.yaml");
    Files.createDirectories(f.getParent());
    Files.writeString(f, text);
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
  }

  @Test
  void flagBeatsEnvironmentBeatsFileBeatsDefault() throws Exception {
    assertThat(ClientConfig.resolve(Optional.empty(), Optional.empty(), Map.of(), home).server())
        .isEqualTo("http://127.0.0.1:7070");
    file("server: http://file:1\ntoken: fd_file\n");
    ClientConfig fromFile = ClientConfig.resolve(Optional.empty(), Optional.empty(), Map.of(), home);
    assertThat(fromFile.server()).isEqualTo("http://file:1");
    assertThat(fromFile.token()).contains("fd_file");
    Map<String, String> env = Map.of("FLIGHTDECK_SERVER", "http://env:2/", "FLIGHTDECK_TOKEN", "fd_env");
    ClientConfig fromEnv = ClientConfig.resolve(Optional.empty(), Optional.empty(), env, home);
    assertThat(fromEnv.server()).isEqualTo("http://env:2");
    assertThat(fromEnv.token()).contains("fd_env");
    ClientConfig fromFlags = ClientConfig.resolve(Optional.of("http://flag:3"), Optional.of("fd_flag"), env, home);
    assertThat(fromFlags.server()).isEqualTo("http://flag:3");
    assertThat(fromFlags.token()).contains("fd_flag");
  }

  @Test
  void flightdeckConfigNamesAnotherFile_andWrittenFilesArePrivate() throws Exception {
    Path other = home.resolve("elsewhere.yaml");
    ClientConfig.write(other, "http://x:9", "fd_x");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(other))).isEqualTo("rw-------");
    ClientConfig c = ClientConfig.resolve(Optional.empty(), Optional.empty(), Map.of("FLIGHTDECK_CONFIG", other.toString()), home);
    assertThat(c.server()).isEqualTo("http://x:9");
    assertThat(c.warnings()).isEmpty();
  }

  @Test
  void warnsAboutReadableFilesAndRejectsUnknownKeysWithTheLine() throws Exception {
    file("server: http://a:1\n");
    Files.setPosixFilePermissions(home.resolve(".flightdeck/config.yaml"), PosixFilePermissions.fromString("rw-r--r--"));
    assertThat(ClientConfig.resolve(Optional.empty(), Optional.empty(), Map.of(), home).warnings())
        .singleElement().asString().contains("chmod 600");
    file("server: http://a:1\ntokn: x\n");
    assertThatThrownBy(() -> ClientConfig.resolve(Optional.empty(), Optional.empty(), Map.of(), home))
        .hasMessageContaining("config.yaml:2: expected `server: URL` or `token: TOKEN`");
  }
}

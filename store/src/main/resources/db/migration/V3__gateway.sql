-- Sticky sessions: the version each conversation started on, kept across gateway restarts and
-- shared by every gateway replica. Times are epoch milliseconds.
CREATE TABLE fd_session_pin (
  agent      VARCHAR(63)  NOT NULL,
  session_id VARCHAR(256) NOT NULL,
  version    VARCHAR(63)  NOT NULL,
  created_at BIGINT       NOT NULL,
  expires_at BIGINT       NOT NULL,
  PRIMARY KEY (agent, session_id)
);
CREATE INDEX fd_session_pin_by_expiry ON fd_session_pin (expires_at);
CREATE INDEX fd_session_pin_by_version ON fd_session_pin (agent, version);

-- Per-version telemetry windows, one row per replica, version and second, written by each
-- gateway replica so a controller on another replica can read them.
CREATE TABLE fd_gateway_window (
  replica  VARCHAR(128) NOT NULL,
  version  VARCHAR(63)  NOT NULL,
  second   BIGINT       NOT NULL,
  data     TEXT         NOT NULL,
  PRIMARY KEY (replica, version, second)
);
CREATE INDEX fd_gateway_window_by_version ON fd_gateway_window (version, second);

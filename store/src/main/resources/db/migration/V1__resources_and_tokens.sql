-- One schema for SQLite and PostgreSQL: only portable types and statements here.
-- Times are ISO-8601 UTC strings (exact, sortable, identical on both databases).

-- Global, monotonically increasing revision: every resource write gets the next one, and it is
-- that resource's resourceVersion (as etcd revisions are in Kubernetes). Updating this row first
-- also serializes resource writers on PostgreSQL.
CREATE TABLE fd_counter (
  name  VARCHAR(64) PRIMARY KEY,
  value BIGINT      NOT NULL
);
INSERT INTO fd_counter (name, value) VALUES ('revision', 0);

-- The current state of every resource.
CREATE TABLE fd_resource (
  kind             VARCHAR(32)  NOT NULL,
  name             VARCHAR(63)  NOT NULL,
  uid              VARCHAR(36)  NOT NULL,
  resource_version BIGINT       NOT NULL,
  generation       BIGINT       NOT NULL,
  spec_digest      VARCHAR(71)  NOT NULL,
  document         TEXT         NOT NULL,
  created_at       VARCHAR(40)  NOT NULL,
  updated_at       VARCHAR(40)  NOT NULL,
  PRIMARY KEY (kind, name)
);

-- Every version of every resource, deletions included; also the feed behind watch.
CREATE TABLE fd_resource_history (
  revision   BIGINT       PRIMARY KEY,
  kind       VARCHAR(32)  NOT NULL,
  name       VARCHAR(63)  NOT NULL,
  uid        VARCHAR(36)  NOT NULL,
  operation  VARCHAR(16)  NOT NULL,
  document   TEXT         NOT NULL,
  principal  VARCHAR(256) NOT NULL,
  at         VARCHAR(40)  NOT NULL
);
CREATE INDEX fd_resource_history_by_name ON fd_resource_history (kind, name, revision);

-- API tokens: only a SHA-256 hash of each token is kept.
CREATE TABLE fd_api_token (
  id          VARCHAR(36)  PRIMARY KEY,
  name        VARCHAR(128) NOT NULL,
  role        VARCHAR(16)  NOT NULL,
  token_hash  VARCHAR(64)  NOT NULL UNIQUE,
  created_at  VARCHAR(40)  NOT NULL,
  created_by  VARCHAR(256) NOT NULL,
  revoked_at  VARCHAR(40)
);

-- The tamper-evident audit log (see docs/audit.md). Portable SQL for SQLite and PostgreSQL.

-- One row per entry: hash = SHA-256(prev_hash || SHA-256(canonical entry)), see AuditChain.
CREATE TABLE fd_audit_entry (
  seq           BIGINT       PRIMARY KEY,
  at_millis     BIGINT       NOT NULL,
  principal     VARCHAR(256) NOT NULL,
  action        VARCHAR(128) NOT NULL,
  resource      VARCHAR(512) NOT NULL,
  before_digest VARCHAR(80),
  after_digest  VARCHAR(80),
  details       TEXT         NOT NULL,
  prev_hash     CHAR(64)     NOT NULL,
  hash          CHAR(64)     NOT NULL
);

-- The chain head: appenders lock this row, so batches from any number of processes chain in order.
CREATE TABLE fd_audit_head (
  id   INTEGER  PRIMARY KEY,
  seq  BIGINT   NOT NULL,
  hash CHAR(64) NOT NULL
);
INSERT INTO fd_audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Signed statements "entry seq has hash h" (Ed25519; the private key never enters the database).
CREATE TABLE fd_audit_checkpoint (
  seq       BIGINT      PRIMARY KEY,
  hash      CHAR(64)    NOT NULL,
  at_millis BIGINT      NOT NULL,
  key_id    VARCHAR(16) NOT NULL,
  signature TEXT        NOT NULL
);

-- Public keys of the servers that sign checkpoints.
CREATE TABLE fd_audit_key (
  key_id     VARCHAR(16) PRIMARY KEY,
  public_key TEXT        NOT NULL,
  created_at VARCHAR(40) NOT NULL
);

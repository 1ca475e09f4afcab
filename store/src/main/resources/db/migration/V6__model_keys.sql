-- Virtual model keys: an agent calls models through the gateway with one of its version's keys.
-- Only a SHA-256 hash of each key is kept; prefix is 8 characters of the key, to tell keys apart.
-- seq is the model_keys counter's value when the key was created: it orders keys newest first.
CREATE TABLE fd_model_key (
  id          VARCHAR(16)  PRIMARY KEY,
  name        VARCHAR(128) NOT NULL,
  agent       VARCHAR(63)  NOT NULL,
  version     VARCHAR(63)  NOT NULL,
  prefix      VARCHAR(8)   NOT NULL,
  key_hash    VARCHAR(64)  NOT NULL UNIQUE,
  seq         BIGINT       NOT NULL,
  created_at  VARCHAR(40)  NOT NULL,
  created_by  VARCHAR(256) NOT NULL,
  revoked_at  VARCHAR(40)
);
CREATE INDEX fd_model_key_by_version ON fd_model_key (version, seq);

-- Counts creations and revocations: gateways poll it and reload their keys when it moves.
INSERT INTO fd_counter (name, value) VALUES ('model_keys', 0);

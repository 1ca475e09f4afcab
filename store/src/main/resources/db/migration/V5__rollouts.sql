-- Rollout controller state: one row per Rollout, replaced as a whole on each transition.
-- seq counts transitions; a transition names the seq it read, so two controllers (or a
-- controller and a manual verb) never both apply a transition to the same state.
CREATE TABLE fd_rollout_state (
  name       VARCHAR(63) NOT NULL PRIMARY KEY,
  seq        BIGINT      NOT NULL,
  state      TEXT        NOT NULL,
  updated_at BIGINT      NOT NULL,
  routed_seq BIGINT      NOT NULL DEFAULT 0
);

-- Every decision, with its evidence, written in the same transaction as the state it led to
-- (and the audit entry). Times are epoch ms.
CREATE TABLE fd_rollout_decision (
  rollout  VARCHAR(63)  NOT NULL,
  seq      BIGINT       NOT NULL,
  at       BIGINT       NOT NULL,
  actor    VARCHAR(256) NOT NULL,
  action   VARCHAR(64)  NOT NULL,
  attempt  INTEGER      NOT NULL,
  step     INTEGER      NOT NULL,
  phase    VARCHAR(32)  NOT NULL,
  reason   TEXT         NOT NULL,
  evidence TEXT,
  PRIMARY KEY (rollout, seq)
);

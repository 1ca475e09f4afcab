-- Budget counters and the reservations charged to them (see BudgetStore). Amounts are tokens and
-- nano-dollars (1e-9 USD) as integers, so sums are exact; times are epoch milliseconds.

-- One row per counter (a budget's scope and window, e.g. one agent's day). The limits are the
-- ones passed with the latest reservation; held counts its live reservations, so a counter that
-- one still points at is never deleted, even when that reservation asked for nothing.
CREATE TABLE fd_budget_counter (
  counter_key     VARCHAR(400) NOT NULL PRIMARY KEY,
  budget          VARCHAR(63)  NOT NULL,
  limit_tokens    BIGINT       NOT NULL,
  limit_nano      BIGINT       NOT NULL,
  used_tokens     BIGINT       NOT NULL,
  used_nano       BIGINT       NOT NULL,
  reserved_tokens BIGINT       NOT NULL,
  reserved_nano   BIGINT       NOT NULL,
  held            BIGINT       NOT NULL,
  expires_at      BIGINT       NOT NULL
);
CREATE INDEX fd_budget_counter_by_expiry ON fd_budget_counter (expires_at);

-- Granted, not yet settled reservations. The id is a random positive 63-bit number chosen by the
-- store (neither dialect's generated keys are portable); counters holds the keys, newline-separated,
-- in key order. Settling deletes the row, so a row is settled at most once.
CREATE TABLE fd_budget_reservation (
  id         BIGINT NOT NULL PRIMARY KEY,
  counters   TEXT   NOT NULL,
  tokens     BIGINT NOT NULL,
  nano       BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX fd_budget_reservation_by_expiry ON fd_budget_reservation (expires_at);

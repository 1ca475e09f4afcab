-- Scheduled eval runs. A replica claims a (suite, scheduled_at) slot by inserting it, so each
-- scheduled run happens once however many replicas share the database. Times are epoch ms.
CREATE TABLE fd_eval_run (
  suite        VARCHAR(63)  NOT NULL,
  scheduled_at BIGINT       NOT NULL,
  replica      VARCHAR(128) NOT NULL,
  state        VARCHAR(16)  NOT NULL,
  finished_at  BIGINT,
  pass1        DOUBLE PRECISION,
  ci_low       DOUBLE PRECISION,
  ci_high      DOUBLE PRECISION,
  runs         INTEGER,
  gate_passed  BOOLEAN,
  summary      TEXT,
  PRIMARY KEY (suite, scheduled_at)
);

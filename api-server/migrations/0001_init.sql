-- Portable SQL: the same migration runs on SQLite and PostgreSQL.
-- Contributors, runs and scores. Times are milliseconds since the Unix epoch.
CREATE TABLE contributors (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    active_challenge TEXT,
    key_salt TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);

CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    contributor_id TEXT NOT NULL REFERENCES contributors(id),
    challenge TEXT NOT NULL,
    profile_version INTEGER NOT NULL,
    target TEXT NOT NULL,
    source TEXT NOT NULL,
    loadgen_selector TEXT NOT NULL,
    anvil_selector TEXT NOT NULL,
    loadgen_metrics_url TEXT,
    anvil_metrics_url TEXT,
    state TEXT NOT NULL,
    window_start BIGINT,
    window_end BIGINT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX runs_due ON runs (state, next_attempt_at);
CREATE INDEX runs_by_contributor ON runs (contributor_id, created_at);

-- Samples the built-in scraper took during a run, kept until it is scored.
CREATE TABLE run_samples (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    samples TEXT NOT NULL
);

CREATE TABLE scores (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    contributor_id TEXT NOT NULL REFERENCES contributors(id),
    challenge TEXT NOT NULL,
    rules_version INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    stat1 DOUBLE PRECISION,
    stat2 DOUBLE PRECISION,
    stat3 DOUBLE PRECISION,
    score DOUBLE PRECISION,
    evidence TEXT NOT NULL,
    scored_at BIGINT NOT NULL
);
CREATE INDEX scores_history ON scores (challenge, contributor_id, scored_at);

-- The best scored run of each contributor in each challenge, with its
-- rank keys, so a leaderboard page reads one index range whatever the
-- number of runs.
CREATE TABLE best_scores (
    challenge TEXT NOT NULL,
    contributor_id TEXT NOT NULL REFERENCES contributors(id),
    run_id TEXT NOT NULL REFERENCES runs(id),
    k1 DOUBLE PRECISION NOT NULL,
    k2 DOUBLE PRECISION NOT NULL,
    k3 DOUBLE PRECISION NOT NULL,
    k4 DOUBLE PRECISION NOT NULL,
    scored_at BIGINT NOT NULL,
    PRIMARY KEY (challenge, contributor_id)
);
CREATE INDEX best_scores_rank ON best_scores (challenge, k1 DESC, k2 DESC, k3 DESC, k4 DESC, scored_at, contributor_id);

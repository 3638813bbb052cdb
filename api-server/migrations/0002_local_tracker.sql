-- The local tracker's own tables: personal, unofficial runs. The
-- leaderboard never reads them. Times are milliseconds since the epoch.
CREATE TABLE local_test_runs (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    target TEXT NOT NULL,
    session_id TEXT NOT NULL,
    commit_hash TEXT,
    challenge_type TEXT NOT NULL,
    test_type TEXT NOT NULL,
    metric_name TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    run_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    total_requests BIGINT NOT NULL,
    successful_requests BIGINT NOT NULL,
    failed_requests BIGINT NOT NULL,
    rps DOUBLE PRECISION NOT NULL,
    error_rate DOUBLE PRECISION NOT NULL,
    avg_latency_ms DOUBLE PRECISION NOT NULL,
    p50_ms DOUBLE PRECISION,
    p95_ms DOUBLE PRECISION,
    p99_ms DOUBLE PRECISION,
    duration_s DOUBLE PRECISION NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX local_test_runs_grouped ON local_test_runs (user_id, target, session_id, run_at, id);
CREATE INDEX local_test_runs_comparable ON local_test_runs (user_id, target, test_type, run_at);

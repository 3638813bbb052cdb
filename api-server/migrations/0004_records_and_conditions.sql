-- Runs record the conditions they were run under, so only complete runs
-- of the profile at its full length and rate rank; the rest is practice.
ALTER TABLE runs ADD COLUMN duration_scale DOUBLE PRECISION NOT NULL DEFAULT 1;
ALTER TABLE runs ADD COLUMN rate_scale DOUBLE PRECISION NOT NULL DEFAULT 1;

-- Scores are records: scoring a run again (under new rules, say) adds
-- one, never rewrites one. A run's score is its newest record.
CREATE TABLE score_records (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    contributor_id TEXT NOT NULL REFERENCES contributors(id),
    challenge TEXT NOT NULL,
    rules_version BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    stat1 DOUBLE PRECISION,
    stat2 DOUBLE PRECISION,
    stat3 DOUBLE PRECISION,
    score DOUBLE PRECISION,
    -- 1 when the run ranks; otherwise practice_reasons (a JSON array) says why not.
    official BIGINT NOT NULL,
    practice_reasons TEXT NOT NULL,
    evidence TEXT NOT NULL,
    run_end BIGINT NOT NULL,
    scored_at BIGINT NOT NULL
);
-- Scores from before run conditions were recorded cannot be shown to be
-- complete, full-rate runs: they are kept, as practice.
INSERT INTO score_records (id, run_id, contributor_id, challenge, rules_version, outcome, reason,
        stat1, stat2, stat3, score, official, practice_reasons, evidence, run_end, scored_at)
    SELECT s.run_id, s.run_id, s.contributor_id, s.challenge, s.rules_version, s.outcome, s.reason,
        s.stat1, s.stat2, s.stat3, s.score, 0, '["scored before run conditions were recorded"]',
        s.evidence, COALESCE(r.window_end, s.scored_at), s.scored_at
    FROM scores s JOIN runs r ON r.id = s.run_id;
DROP TABLE scores;
CREATE INDEX score_records_run ON score_records (run_id, scored_at, id);
CREATE INDEX score_records_history ON score_records (challenge, contributor_id, run_end);

-- The best official record of each contributor in each challenge,
-- recomputed from the records whenever one is added.
DROP TABLE best_scores;
CREATE TABLE best_scores (
    challenge TEXT NOT NULL,
    contributor_id TEXT NOT NULL REFERENCES contributors(id),
    run_id TEXT NOT NULL REFERENCES runs(id),
    record_id TEXT NOT NULL REFERENCES score_records(id),
    k1 DOUBLE PRECISION NOT NULL,
    k2 DOUBLE PRECISION NOT NULL,
    k3 DOUBLE PRECISION NOT NULL,
    k4 DOUBLE PRECISION NOT NULL,
    run_end BIGINT NOT NULL,
    PRIMARY KEY (challenge, contributor_id)
);
CREATE INDEX best_scores_rank ON best_scores (challenge, k1 DESC, k2 DESC, k3 DESC, k4 DESC, run_end, contributor_id);

-- The built-in scraper's samples, stored as they arrive (a batch every
-- few seconds), so a restart mid-run loses nothing already taken.
CREATE TABLE run_sample_batches (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    samples TEXT NOT NULL
);
CREATE INDEX run_sample_batches_run ON run_sample_batches (run_id, id);
CREATE INDEX runs_by_challenge ON runs (challenge, created_at);

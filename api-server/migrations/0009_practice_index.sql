-- The HTML board lists the 20 newest practice runs of its challenge. With
-- no index in run_end order among practice records, that read every
-- record of the challenge under the current rules and sorted them (on
-- SQLite 7.8 ms at 30,000 runs, 35 ms at 100,000: the board fell to
-- 0.03 x /healthz). Practice records are few, so the index holds only them.
CREATE INDEX score_records_practice ON score_records (challenge, rules_version, run_end) WHERE official = 0;

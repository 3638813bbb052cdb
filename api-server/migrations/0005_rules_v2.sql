-- Rules v2. A run can be scored again under a named rules version (the
-- worker reads it once and clears it); the board ranks by the current
-- rules only, so the bests made under v1 are dropped here and v1 records
-- stay, labelled, beside it until their runs are scored again.
ALTER TABLE runs ADD COLUMN score_rules BIGINT;
DELETE FROM best_scores;

-- API keys brought over from the earlier platform (UUIDs), so its
-- clients (switch_challenge.py) keep working with the key they have.
-- Only a SHA-256 of each key is kept; a UUID has 122 random bits, so a
-- plain digest can be looked up without a salt.
CREATE TABLE earlier_keys (
    digest TEXT PRIMARY KEY,
    contributor_id TEXT NOT NULL REFERENCES contributors(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX earlier_keys_contributor ON earlier_keys (contributor_id);

-- Custom pipelines (issue #3): a base preset plus enables, disables and overrides.
-- `spec` is `json`, not `jsonb`, so it round-trips byte for byte, as in 0001.

CREATE TABLE pipelines (
    name       TEXT PRIMARY KEY,
    spec       JSON NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Custom pipelines (issue #3): a base preset plus enables, disables and overrides.
-- `spec` holds orjson text; timestamps are fixed-width ISO-8601 UTC text, as in 0001.

CREATE TABLE pipelines (
    name       TEXT PRIMARY KEY,
    spec       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

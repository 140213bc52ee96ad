-- TapPass schema for SQLite. Timestamps are fixed-width ISO-8601 UTC text
-- ("2026-11-26T00:32:51.123456Z") so that text order is time order.
-- JSON columns hold orjson text; booleans are 0/1.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE agents (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL CONSTRAINT agents_name_key UNIQUE,
    preset       TEXT NOT NULL,
    flags        TEXT NOT NULL DEFAULT '{}',
    enabled      INTEGER NOT NULL DEFAULT 1,
    key_prefix   TEXT NOT NULL CONSTRAINT agents_key_prefix_key UNIQUE,
    key_hash     TEXT NOT NULL,
    overrides    TEXT NOT NULL DEFAULT '{}',
    locked_flags TEXT NOT NULL DEFAULT '[]',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE audit_events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT NOT NULL CONSTRAINT audit_events_id_key UNIQUE,
    ts       TEXT NOT NULL,
    agent    TEXT,
    status   TEXT NOT NULL,
    blocked  INTEGER NOT NULL,
    cost_usd REAL,
    body     TEXT NOT NULL
);

CREATE INDEX audit_events_agent_ts ON audit_events (agent, ts);
CREATE INDEX audit_events_ts ON audit_events (ts);
CREATE INDEX audit_events_blocked_ts ON audit_events (blocked, ts);

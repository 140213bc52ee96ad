-- TapPass schema for PostgreSQL.
-- JSON columns use `json`, not `jsonb`: the stored text is returned byte for byte, so
-- events round-trip exactly (key order, number formatting) and a "\u0000" inside a
-- string, which jsonb rejects, cannot fail a whole group-commit batch.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE agents (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL CONSTRAINT agents_name_key UNIQUE,
    preset       TEXT NOT NULL,
    flags        JSON NOT NULL DEFAULT '{}',
    enabled      BOOLEAN NOT NULL DEFAULT TRUE,
    key_prefix   TEXT NOT NULL CONSTRAINT agents_key_prefix_key UNIQUE,
    key_hash     TEXT NOT NULL,
    overrides    JSON NOT NULL DEFAULT '{}',
    locked_flags JSON NOT NULL DEFAULT '[]',
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE audit_events (
    seq      BIGSERIAL PRIMARY KEY,
    id       TEXT NOT NULL CONSTRAINT audit_events_id_key UNIQUE,
    ts       TIMESTAMPTZ NOT NULL,
    agent    TEXT,
    status   TEXT NOT NULL,
    blocked  BOOLEAN NOT NULL,
    cost_usd DOUBLE PRECISION,
    body     JSON NOT NULL
);

CREATE INDEX audit_events_agent_ts ON audit_events (agent, ts);
CREATE INDEX audit_events_ts ON audit_events (ts);
CREATE INDEX audit_events_blocked_ts ON audit_events (blocked, ts);

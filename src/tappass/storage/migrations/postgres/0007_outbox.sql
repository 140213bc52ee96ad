-- Outbox of events and alerts to forward (SIEM, alert webhooks), written in the same
-- transaction as the audit events they come from. A delivered row is deleted; a row that
-- failed too often is kept with state 'dead' (the dead letters). `payload` is NULL for a
-- SIEM row (the audit event body is read at send time) and the alert body for a webhook.
CREATE TABLE outbox (
    seq        BIGSERIAL PRIMARY KEY,
    sink       TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    payload    TEXT,
    state      TEXT NOT NULL DEFAULT 'pending',
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    TIMESTAMPTZ NOT NULL,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX outbox_sink_state_seq ON outbox (sink, state, seq);

-- One sender at a time per sink (several workers, several hosts): it holds the lease.
CREATE TABLE outbox_leases (
    sink        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    lease_until TIMESTAMPTZ NOT NULL
);

-- Tamper-evident audit (issue 19): events written from now on carry a `chain` object in
-- their body (see docs/audit-chain.md); the events already stored have none. Their last
-- row position is recorded here, so `tappass audit verify` reports them as legacy, while
-- an unchained event after it is reported as inserted.

INSERT INTO meta (key, value)
    SELECT 'audit_chain_legacy_until', COALESCE(MAX(seq), 0)::text FROM audit_events
    ON CONFLICT (key) DO NOTHING;

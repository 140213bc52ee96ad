-- Flags whose loosening the agent's admin allows in requests (issue #13): a JSON list of
-- flag names, orjson text as `locked_flags` in 0001. Existing agents allow none.

ALTER TABLE agents ADD COLUMN loosenable_flags TEXT NOT NULL DEFAULT '[]';

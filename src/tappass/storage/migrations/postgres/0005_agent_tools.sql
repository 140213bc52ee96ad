-- Tool governance (issue 17): the agent's tool allow and deny lists, and the SHA-256 of
-- every tool definition the agent has sent, pinned on first sight (a changed definition is
-- a rug pull). `tools` is JSON {"allow": [...], "deny": [...]}; existing agents have no
-- lists (every tool allowed unless the pipeline says otherwise).

ALTER TABLE agents ADD COLUMN tools JSON NOT NULL DEFAULT '{}';

CREATE TABLE tool_pins (
    agent_id  TEXT NOT NULL,
    tool      TEXT NOT NULL,
    sha256    TEXT NOT NULL,
    pinned_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (agent_id, tool)
);

-- The key vault (issue #18): provider keys sealed with AES-256-GCM under TAPPASS_VAULT_KEY.
-- `sealed` is "v1.<nonce>.<ciphertext+tag>" (base64); the name is the associated data.

CREATE TABLE vault_secrets (
    name       TEXT PRIMARY KEY,
    sealed     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

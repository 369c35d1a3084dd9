-- Shared blocks and their holders (riposte.holders): one NSG rule or named-location range, held
-- by every response that asked for it, reverted when the last holder lets go. Unlike the audit
-- events these rows change; each hold and release is also audited by the response that made it.
--
-- Grants for a least-privilege deployment:
--   writer (worker):  GRANT SELECT, INSERT, UPDATE, DELETE ON shared_blocks, block_holders
--                     TO riposte_writer;

CREATE TABLE shared_blocks (
    block text PRIMARY KEY,
    kind text NOT NULL,
    scope text NOT NULL,
    item text NOT NULL,
    state text NOT NULL,
    changed_at text NOT NULL
);

CREATE TABLE block_holders (
    block text NOT NULL,
    response_id text NOT NULL,
    action_id text NOT NULL,
    held_at text NOT NULL,
    released_at text,
    last integer NOT NULL DEFAULT 0,
    PRIMARY KEY (block, action_id)
);

CREATE INDEX block_holders_response ON block_holders (response_id);

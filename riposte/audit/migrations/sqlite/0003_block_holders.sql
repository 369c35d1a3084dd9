-- Shared blocks and their holders (riposte.holders): one NSG rule or named-location range, held
-- by every response that asked for it, reverted when the last holder lets go. Unlike the audit
-- events these rows change; each hold and release is also audited by the response that made it.

CREATE TABLE shared_blocks (
    block TEXT PRIMARY KEY,        -- "nsg_rule:rg-core/nsg-vpn/riposte-…" (BlockKey.id)
    kind TEXT NOT NULL,            -- nsg_rule | named_location_range
    scope TEXT NOT NULL,           -- "rg-core/nsg-vpn", or the named location
    item TEXT NOT NULL,            -- the rule name, or the CIDR range
    state TEXT NOT NULL,           -- held | releasing (the last holder is removing it)
    changed_at TEXT NOT NULL
);

CREATE TABLE block_holders (
    block TEXT NOT NULL,
    response_id TEXT NOT NULL,
    action_id TEXT NOT NULL,
    held_at TEXT NOT NULL,
    released_at TEXT,              -- NULL while it holds
    last INTEGER NOT NULL DEFAULT 0,  -- 1: its release left the block with no holder
    PRIMARY KEY (block, action_id)
);

CREATE INDEX block_holders_response ON block_holders (response_id);

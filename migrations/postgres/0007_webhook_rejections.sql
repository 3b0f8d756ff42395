-- Webhook deliveries refused before anything was stored (a bad signature or token, a malformed
-- body), counted per system, reason and minute: a flood of forged requests adds to a counter
-- instead of a row each, and rows older than two days are pruned, so the table stays small.
CREATE TABLE webhook_rejections (
    system TEXT NOT NULL,
    reason TEXT NOT NULL,
    -- The minute (unix ms, floored) the rejections fell in.
    minute BIGINT NOT NULL,
    count BIGINT NOT NULL,
    -- The last refusal's message of that minute (what the sender must fix).
    last_message TEXT NOT NULL,
    PRIMARY KEY (system, reason, minute)
);

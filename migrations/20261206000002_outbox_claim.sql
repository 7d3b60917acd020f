-- The outbox's claim walks `outbox_pending`, one probe per user (src/db/outbox_claim.sql).
-- `outbox_due` goes: a partial index whose statistics were taken while it was empty looks free
-- to the planner, which then read all of it once per waiting delivery (a claim of 3,744 took
-- 1.8 s until the next ANALYZE). With one partial index on the table, the only cheap-looking
-- path is the one the claim is written for.
drop index outbox_due;

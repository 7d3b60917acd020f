-- The outbox's claim (`db::events::claim_due`): up to $1 deliveries, each the oldest waiting
-- delivery of its user and due now, locked (skipping any another replica holds) and leased for
-- 60 seconds; users are walked in order from the first after $2 ('' for the first of all).
--
-- Each user walked past costs one probe of `outbox_pending` (the next user's oldest waiting
-- delivery: a skip scan), and the walk stops once $1 are claimed, so a claim reads a few index
-- pages per user, however many deliveries wait behind each. Every step is an index probe the
-- planner cannot trade for a scan, even with statistics taken while the table was empty
-- (`tests/api/events.rs` checks the plan of this very text).
with recursive heads (app_user_id, event_id, next_attempt_at) as (
    (select o.app_user_id, o.event_id, o.next_attempt_at from outbox o
      where o.app_user_id > $2 and o.delivered_at is null and o.dead_at is null
      order by o.app_user_id, o.event_id
      limit 1)
    union all
    select n.app_user_id, n.event_id, n.next_attempt_at
      from heads h
     cross join lateral (
           select o.app_user_id, o.event_id, o.next_attempt_at from outbox o
            where o.app_user_id > h.app_user_id and o.delivered_at is null and o.dead_at is null
            order by o.app_user_id, o.event_id
            limit 1) n
),
claimed as (
    select c.event_id
      from heads h
     cross join lateral (
           select o.event_id from outbox o
            where o.app_user_id = h.app_user_id and o.event_id = h.event_id
              and o.delivered_at is null and o.dead_at is null and o.next_attempt_at <= now()
              for update skip locked) c
     where h.next_attempt_at <= now()
     limit $1
),
leased as (
    update outbox set next_attempt_at = now() + interval '60 seconds'
     where event_id = any(array(select event_id from claimed))
    returning event_id, app_user_id, body_sealed, attempts, created_at
)
-- (The quoted names tell sqlx the columns are never null.)
select event_id as "event_id!", app_user_id as "app_user_id!", body_sealed as "body_sealed!",
       attempts as "attempts!", created_at as "created_at!"
  from leased
 order by app_user_id

-- What changed for a user, as it reaches their streams (GET /v1/events): one row per event,
-- in order per user (written under a per-user lock), kept at least 24 hours. The payload is
-- the event's JSON in our documented shapes, sealed (it can carry personal data). No foreign
-- key: a `user.erased` event outlives its user.
create table events (
    id bigint generated always as identity primary key,
    app_user_id text not null,
    event_type text not null,
    payload_sealed bytea not null,
    created_at timestamptz not null default now()
);

create index events_user_id on events (app_user_id, id);
create index events_created_at on events (created_at);

-- The same events for the company's backend (APP_WEBHOOK_URL), written in the same
-- transaction as the event: delivered in order per user, at least once, retried for a day.
-- `dead_at` marks one given up on (refused with a 4xx, or a day of failures).
create table outbox (
    event_id bigint primary key,
    app_user_id text not null,
    body_sealed bytea not null,
    created_at timestamptz not null default now(),
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    delivered_at timestamptz,
    dead_at timestamptz,
    last_status integer,
    last_error text
);

create index outbox_pending on outbox (app_user_id, event_id)
    where delivered_at is null and dead_at is null;
create index outbox_due on outbox (next_attempt_at)
    where delivered_at is null and dead_at is null;

-- Short-lived, single-use tickets for browsers' EventSource (GET /v1/events?ticket=…), which
-- cannot send an Authorization header. Only a hash of each ticket is stored.
create table stream_tickets (
    ticket_hash bytea primary key,
    app_user_id text not null references app_users (app_user_id) on delete cascade,
    expires_at timestamptz not null,
    used_at timestamptz
);

create index stream_tickets_expires_at on stream_tickets (expires_at);

-- What the job watcher (or a poll) last saw of a job, so that polling GET /v1/jobs/{id}
-- answers from it while it is fresh instead of calling Basiq again.
alter table jobs
    add column view jsonb,
    add column viewed_at timestamptz;

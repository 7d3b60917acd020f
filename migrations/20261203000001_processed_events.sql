-- Each Basiq event is processed once, whether its webhook arrived or it was recovered from
-- Basiq's GET /events (a webhook sent while every replica was down).
create table processed_events (
    event_id text primary key,
    event_type text not null,
    -- webhook, recovered or replayed
    source text not null,
    processed_at timestamptz not null default now()
);

create index processed_events_processed_at on processed_events (processed_at);

-- How far event recovery has read Basiq's events: the createdDate of the newest it saw.
-- It starts now, so events the webhook route handled before this table existed are not
-- processed again.
create table event_recovery (
    singleton boolean primary key default true check (singleton),
    seen_until timestamptz not null
);

insert into event_recovery (seen_until) values (now());

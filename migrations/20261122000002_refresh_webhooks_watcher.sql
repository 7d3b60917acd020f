-- The job watcher follows jobs the app started until they finish, with back-off, for at most
-- Basiq's 7-day job window.
alter table jobs
    add column error_code text,
    add column checks integer not null default 0,
    add column next_check_at timestamptz,
    add column watch_until timestamptz not null default now() + interval '7 days';

create index jobs_watch on jobs (next_check_at) where next_check_at is not null;

-- Refreshes Basiq accepted (202, a new job), so the 20-a-day budget of open-banking connections
-- is enforced before Basiq is called.
create table refreshes (
    id bigserial primary key,
    app_user_id text not null references app_users (app_user_id) on delete cascade,
    connection_id text not null,
    job_id text not null,
    requested_at timestamptz not null default now()
);

create index refreshes_connection_requested_at on refreshes (connection_id, requested_at desc);

-- Connection state learnt from webhooks and jobs.
create table connections (
    connection_id text primary key,
    app_user_id text not null references app_users (app_user_id) on delete cascade,
    invalidated_at timestamptz,
    updated_at timestamptz not null default now()
);

-- Each webhook delivery is processed once: Basiq redelivers with the same webhook-id.
create table webhook_deliveries (
    webhook_id text primary key,
    event_type text not null,
    received_at timestamptz not null default now()
);

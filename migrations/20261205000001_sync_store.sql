-- The sync store (SPEC.md §8): per user who syncs, the accounts and transactions Basiq last
-- gave, and what changed, in order. Bodies are sealed (AES-GCM, associated data
-- sync/{user}/{seq}); only what the queries need is in the clear: ids, status, a date, and a
-- keyed MAC of the content (so a change is seen without opening anything, and the MAC says
-- nothing about the content without the key).

create table sync_state (
    app_user_id text primary key references app_users (app_user_id) on delete cascade,
    -- New for each new store (and on connection deletion): cursors of an older one expire.
    epoch uuid not null default gen_random_uuid(),
    -- The sequence number of the newest change.
    last_seq bigint not null default 0,
    -- Changes at or below this number may be forgotten: a cursor before it expires.
    floor_seq bigint not null default 0,
    -- When the newest refresh began reading Basiq: what Basiq signalled before is in the store.
    fetched_at timestamptz,
    -- When a refresh was last asked for (a job succeeded, a webhook said the data changed).
    requested_at timestamptz,
    -- When the last refresh failed: the background refresher waits a minute before retrying.
    failed_at timestamptz,
    created_at timestamptz not null default now()
);

create index sync_state_requested on sync_state (requested_at) where requested_at is not null;

-- One row per account or transaction: what the store now holds of it, without its body. A
-- removed one stays (`removed_at`) while its changes are kept, and a pending transaction
-- replaced by its posted copy stays removed while Basiq still lists it (`replaced_by`).
create table sync_records (
    app_user_id text not null references app_users (app_user_id) on delete cascade,
    kind text not null check (kind in ('account', 'transaction')),
    record_id text not null,
    connection_id text,
    account_id text,
    -- A transaction's `pending` or `posted`.
    status text,
    -- A transaction's post date, else its transaction date.
    record_date date,
    -- The sequence number of its newest change (0: never reported).
    seq bigint not null,
    removed_at timestamptz,
    replaced_by text,
    content_mac bytea,
    primary key (app_user_id, kind, record_id)
);

create index sync_records_connection on sync_records (app_user_id, connection_id);

-- The change log, append-only: each change under the user's next sequence number, with the
-- record as it then was (sealed; none for a removal). A cursor is a sequence number: what a
-- client has is exactly what the log says up to it, so nothing is reported twice or lost.
-- Superseded entries older than 30 days are forgotten (sync_state.floor_seq).
create table sync_changes (
    -- Only for `admin rotate-key`, which re-seals in batches by a one-column key.
    id bigserial primary key,
    app_user_id text not null references app_users (app_user_id) on delete cascade,
    seq bigint not null,
    kind text not null,
    record_id text not null,
    connection_id text,
    change text not null check (change in ('added', 'modified', 'removed')),
    body_sealed bytea,
    created_at timestamptz not null default now(),
    unique (app_user_id, seq),
    check ((change = 'removed') = (body_sealed is null))
);

create index sync_changes_record on sync_changes (app_user_id, kind, record_id, seq);
create index sync_changes_connection on sync_changes (app_user_id, connection_id);

-- Each refresh that changed something: how much, and which sequence numbers it used.
create table sync_refreshes (
    id bigserial primary key,
    app_user_id text not null references app_users (app_user_id) on delete cascade,
    started_at timestamptz not null,
    finished_at timestamptz not null default now(),
    added integer not null,
    modified integer not null,
    removed integer not null,
    first_seq bigint not null,
    last_seq bigint not null
);

create index sync_refreshes_app_user_id on sync_refreshes (app_user_id, id);

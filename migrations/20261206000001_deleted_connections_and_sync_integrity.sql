-- Connections the user deleted (through us, Basiq's dashboard, or its connection.deleted
-- event). Basiq keeps a deleted connection's accounts and transactions ("This does not include
-- the existing account and transaction data", data.json deleteConnection), so whatever it still
-- lists of one of these is never answered again: not by the accounts and transactions routes,
-- not by sync, not in events.
create table deleted_connections (
    app_user_id text not null references app_users (app_user_id) on delete cascade,
    connection_id text not null,
    deleted_at timestamptz not null default now(),
    primary key (app_user_id, connection_id)
);

-- A store never outlives its state: a refresh that wrote after an erasure left records and
-- changes without one, and the user's sync failed for good. Rows already orphaned go; from now
-- on such a write fails instead, and erasing the state takes everything with it.
delete from sync_records r
 where not exists (select 1 from sync_state s where s.app_user_id = r.app_user_id);
delete from sync_changes c
 where not exists (select 1 from sync_state s where s.app_user_id = c.app_user_id);
delete from sync_refreshes f
 where not exists (select 1 from sync_state s where s.app_user_id = f.app_user_id);
-- Added unchecked, then checked: the check reads the tables without blocking their writes,
-- so replicas of the previous version keep serving during a rolling deploy.
alter table sync_records
    add constraint sync_records_state_fkey foreign key (app_user_id)
        references sync_state (app_user_id) on delete cascade not valid;
alter table sync_changes
    add constraint sync_changes_state_fkey foreign key (app_user_id)
        references sync_state (app_user_id) on delete cascade not valid;
alter table sync_refreshes
    add constraint sync_refreshes_state_fkey foreign key (app_user_id)
        references sync_state (app_user_id) on delete cascade not valid;
alter table sync_records validate constraint sync_records_state_fkey;
alter table sync_changes validate constraint sync_changes_state_fkey;
alter table sync_refreshes validate constraint sync_refreshes_state_fkey;

-- A refresh reads Basiq without holding a database connection; this lease keeps other
-- replicas from reading the same user's data at once (a crashed replica's lease lapses).
alter table sync_state add column refreshing_until timestamptz;

-- A deleted connection's records are reported removed once, and what the log held of them is
-- erased: its changes keep their place in the order (a client's cursor still counts them) but
-- lose their bodies. Such an erasure rewrites history, so the store counts them (`version`), a
-- cursor carries the version it was issued at, and an erased change says which erasure it was
-- (`erased_in`): a client whose cursor predates it received the record and is told it is gone;
-- a client that passed it later never received it and is told nothing.
alter table sync_state add column version bigint not null default 0;
alter table sync_changes add column erased_in bigint;
alter table sync_changes drop constraint sync_changes_change_check;
alter table sync_changes drop constraint sync_changes_check;
alter table sync_changes
    add constraint sync_changes_change_check
        check (change in ('added', 'modified', 'removed', 'erased')),
    add constraint sync_changes_body_check
        check ((change in ('removed', 'erased')) = (body_sealed is null));

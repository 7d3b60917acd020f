-- Personal data given to Basiq when the user was created, sealed with DATA_ENCRYPTION_KEY
-- (AES-256-GCM, bound to the row): never stored in plain text.
alter table app_users
    add column email_sealed bytea,
    add column mobile_sealed bytea;

-- The one Basiq server token shared by every replica, sealed. One replica refreshes it under an
-- advisory lock; the others read it.
create table server_token (
    id smallint primary key default 1 check (id = 1),
    token_sealed bytea not null,
    fetched_at timestamptz not null,
    expires_at timestamptz not null
);

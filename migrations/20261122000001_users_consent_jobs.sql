-- One row per app user (the JWT `sub`), linked to exactly one Basiq user once created.
create table app_users (
    app_user_id text primary key,
    basiq_user_id text unique,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

-- A consent round trip in flight. Only a hash of the state's nonce is stored; the state itself
-- is signed, expires, and is consumed once (used_at).
create table consent_states (
    nonce_hash bytea primary key,
    app_user_id text not null references app_users (app_user_id) on delete cascade,
    return_to text not null,
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null default now()
);

create index consent_states_expires_at on consent_states (expires_at);

-- Jobs known to belong to a user (recorded at the consent callback or when first verified),
-- with their latest known state.
create table jobs (
    job_id text primary key,
    app_user_id text not null references app_users (app_user_id) on delete cascade,
    connection_id text,
    origin text not null check (origin in ('consent', 'refresh', 'observed')),
    status text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create index jobs_app_user_id_created_at on jobs (app_user_id, created_at desc);

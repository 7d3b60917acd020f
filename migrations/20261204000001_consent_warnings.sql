-- Basiq warned that a consent expires soon (consent.warning): every connection of the user
-- needs attention until the consent is renewed (consent.updated / consent.created) or ends.
create table consent_warnings (
    consent_id text primary key,
    app_user_id text not null references app_users (app_user_id) on delete cascade,
    expires_at timestamptz,
    warned_at timestamptz not null default now()
);

create index consent_warnings_app_user_id on consent_warnings (app_user_id);

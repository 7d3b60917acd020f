//! Integration tests: the real router on a real socket, a fresh Postgres database per test, and
//! `basiq-sim` (in-process) as Basiq.

mod helpers;

mod auth;
mod connections;
mod consent;
mod data;
mod docs;
mod health;
mod live;
mod server_token;
mod users;
mod webhooks;

//! Integration tests: the real router on a real socket, a fresh Postgres database per test, and
//! `basiq-sim` (in-process) as Basiq.

mod helpers;

mod admin;
mod at_rest;
mod auth;
mod connections;
mod consent;
mod consents;
mod data;
mod docs;
mod durability;
mod edges;
mod egress;
mod events;
mod fidelity;
mod health;
mod hostile_upstream;
mod input;
mod kept;
mod live;
mod process;
mod server_token;
mod serving;
mod sync;
mod traces;
mod users;
mod webhooks;

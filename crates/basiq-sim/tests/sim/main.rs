//! Tests of basiq-sim over a real socket: conformance to Basiq's OpenAPI schemas and behaviour.

mod helpers;
mod schema;
mod shapes;

mod auth;
mod conformance;
mod connections;
mod consent;
mod control;
mod institutions;
mod jobs;
mod mfa;
mod next_job;
mod process;
mod purge;
mod subscriptions;
mod transactions;
mod users;
mod webhooks;

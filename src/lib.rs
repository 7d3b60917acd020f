//! basiq-bff: a backend-for-frontend for the Basiq open-banking API.
//!
//! The library holds everything; `main.rs` is thin. The simulator is its own crate,
//! `crates/basiq-sim`.

pub mod admin;
pub mod answers;
pub mod auth;
pub mod basiq;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod erasure;
pub mod error;
pub mod events;
pub mod faults;
pub mod http;
pub mod inbox;
pub mod institutions;
pub mod limits;
pub mod monitoring;
pub mod outbox;
pub mod recovery;
pub mod remembered;
pub mod single_flight;
pub mod startup;
pub mod state;
pub mod subscription;
pub mod sync;
pub mod tasks;
pub mod telemetry;
pub mod user_cache;
pub mod views;
pub mod watcher;
pub mod webhook_signature;

//! The rules of the product that are neither HTTP nor SQL: what a Basiq id looks like, which
//! return URLs are allowed, the consent `state` and cursor protocols, contact details, job
//! outcomes, and which pending transaction a posted one replaces (sync). Nothing here imports another module of ours but `crypto`.

pub mod connections;
pub mod consent_state;
pub mod contact;
pub mod cursor;
pub mod ids;
pub mod jobs;
pub mod return_url;
pub mod sync;

//! The Basiq client: wire types, errors and the shared server-token manager.

mod client;
mod egress;
mod error;
mod token;
pub mod types;

pub use client::{BasiqClient, ClientToken, RawAccounts, RawTransactions, UpstreamPolicy};
pub use egress::Proxy;
pub use error::BasiqError;
pub use token::{
    BoxFuture, LockedStore, SharedToken, StoreError, TokenPolicy, TokenStatus, TokenStore,
};

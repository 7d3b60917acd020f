//! The Basiq client: wire types, errors and the shared server-token manager.

mod client;
mod egress;
mod error;
mod token;
pub mod types;

pub use client::{
    AccountList, Accounts, BasiqClient, ClientToken, OneAccount, OneTransaction, PageRows,
    TransactionPage, UpstreamPolicy,
};
pub use egress::{Proxy, client as egress_client};
pub use error::BasiqError;
pub use token::{
    BoxFuture, LockedStore, SharedToken, StoreError, TokenPolicy, TokenStatus, TokenStore,
};

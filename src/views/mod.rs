//! Our shapes of Basiq's data, defined once: each derives `Serialize` and `ToSchema`, is built
//! from Basiq's wire types (`basiq/types`) borrowing their text, and is what the routes answer
//! and what the sync store keeps.

pub mod accounts;
pub mod transactions;

//! basiq-bff: a backend-for-frontend for the Basiq open-banking API.

pub mod sim;

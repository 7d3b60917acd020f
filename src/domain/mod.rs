//! The rules of the product that are neither HTTP nor SQL.

pub mod ids;

//! Shared pieces of the black-box tests.
//!
//! - [`world`]: a fresh embedded pipeline on a temporary SQLite file, with helpers to add
//!   barbers and earnings, and fault-injecting wrappers (duplicating queue, slow rail).
//! - [`contract`]: the store contract suite, one set of checks every `PayoutStore` adapter must
//!   pass (SQLite here; DynamoDB runs the same functions).

pub mod contract;
pub mod world;

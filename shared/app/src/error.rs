//! The error every use case returns; the HTTP layer maps it to problem details in one place.

use payout_core::money::MoneyError;
use payout_core::status::IllegalTransition;

use crate::ports::{QueueError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is malformed or refers to something that cannot be used (400).
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with what is stored (409).
    #[error("{0}")]
    Conflict(String),
    /// The caller may not do this, whoever they are as a role (403): an operator approving a
    /// payout they asked for.
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// serde's name for a type, as a person would say it (`u32` is "a whole number, 0 or more").
pub fn type_in_words(expected: &str) -> &str {
    match expected {
        "usize" | "u64" | "u32" | "u16" | "u8" => "a whole number, 0 or more",
        "isize" | "i64" | "i32" | "i16" | "i8" => "a whole number",
        "f64" | "f32" => "a number",
        other => other,
    }
}

/// serde's message with its type names in words ("expected u32" becomes "expected a whole
/// number, 0 or more").
pub fn types_in_words(message: &str) -> String {
    [
        "usize", "u64", "u32", "u16", "u8", "isize", "i64", "i32", "i16", "i8", "f64", "f32",
    ]
    .iter()
    .fold(message.to_string(), |text, name| {
        text.replace(
            &format!("expected {name}"),
            &format!("expected {}", type_in_words(name)),
        )
    })
}

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
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

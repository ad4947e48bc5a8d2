//! Conversions between domain values and SQLite columns.

use chrono::{DateTime, Utc};
use payout_app::ports::StoreError;
use payout_core::money::Money;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub fn instant(micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {micros} out of range")))
}

pub fn minor(money: Money) -> Result<i64, StoreError> {
    money
        .to_minor()
        .map_err(|error| StoreError::Corrupt(error.to_string()))
}

pub fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|error| StoreError::Corrupt(error.to_string()))
}

pub fn from_json<T: DeserializeOwned>(body: &str) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|error| StoreError::Corrupt(error.to_string()))
}

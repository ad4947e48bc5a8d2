//! Reading and writing DynamoDB attribute maps; these types never leave the adapter.

use std::collections::HashMap;
use std::fmt::Display;

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use payout_app::ports::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Microseconds since the epoch, zero-padded so that string order is time order in sort keys.
pub fn time_key(at: DateTime<Utc>) -> String {
    format!("{:020}", at.timestamp_micros())
}

pub fn micros(at: DateTime<Utc>) -> AttributeValue {
    n(at.timestamp_micros())
}

pub fn backend<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Backend(DisplayErrorContext(error).to_string())
}

pub fn build_error(error: impl Display) -> StoreError {
    StoreError::Backend(format!("request could not be built: {error}"))
}

pub fn corrupt(what: impl Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(corrupt(format!(
            "attribute `{name}` missing or not a string"
        ))),
    }
}

pub fn get_n(item: &Item, name: &str) -> Result<i64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value
            .parse()
            .map_err(|_| corrupt(format!("attribute `{name}` is not an integer"))),
        _ => Err(corrupt(format!(
            "attribute `{name}` missing or not a number"
        ))),
    }
}

pub fn get_time(item: &Item, name: &str) -> Result<DateTime<Utc>, StoreError> {
    let micros = get_n(item, name)?;
    DateTime::from_timestamp_micros(micros).ok_or_else(|| corrupt(format!("`{name}` out of range")))
}

pub fn to_json<T: Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(value).map(s).map_err(corrupt)
}

pub fn from_json<T: DeserializeOwned>(item: &Item, name: &str) -> Result<T, StoreError> {
    serde_json::from_str(get_s(item, name)?).map_err(corrupt)
}

/// Builds an attribute map from (name, value) pairs.
pub fn item<const N: usize>(pairs: [(&str, AttributeValue); N]) -> Item {
    pairs
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    item([("pk", s(pk)), ("sk", s(sk))])
}

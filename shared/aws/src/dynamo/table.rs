//! The table's definition: two string keys, three overloaded GSIs, TTL on `expires_at`.
//! `infra/template.yaml` declares the same; a test keeps the two from drifting.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use payout_app::ports::StoreError;

use super::item::{backend, build_error};

pub const GSI1: &str = "gsi1";
pub const GSI2: &str = "gsi2";
pub const GSI3: &str = "gsi3";
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// The key attributes: (attribute, index or "" for the table, HASH or RANGE).
pub const KEYS: [(&str, &str, &str); 8] = [
    ("pk", "", "HASH"),
    ("sk", "", "RANGE"),
    ("gsi1pk", GSI1, "HASH"),
    ("gsi1sk", GSI1, "RANGE"),
    ("gsi2pk", GSI2, "HASH"),
    ("gsi2sk", GSI2, "RANGE"),
    ("gsi3pk", GSI3, "HASH"),
    ("gsi3sk", GSI3, "RANGE"),
];

fn key_schema(index: &str) -> Result<Vec<KeySchemaElement>, StoreError> {
    KEYS.iter()
        .filter(|(_, owner, _)| *owner == index)
        .map(|(name, _, kind)| {
            KeySchemaElement::builder()
                .attribute_name(*name)
                .key_type(if *kind == "HASH" {
                    KeyType::Hash
                } else {
                    KeyType::Range
                })
                .build()
                .map_err(build_error)
        })
        .collect()
}

/// Creates the table (on-demand, with its GSIs and TTL) and waits until it is usable.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let definitions = KEYS
        .iter()
        .map(|(name, _, _)| {
            AttributeDefinition::builder()
                .attribute_name(*name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build_error)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(definitions))
        .set_key_schema(Some(key_schema("")?));
    for index in [GSI1, GSI2, GSI3] {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index)
                .set_key_schema(Some(key_schema(index)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(build_error)?,
        );
    }
    request.send().await.map_err(backend)?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TTL_ATTRIBUTE)
                .build()
                .map_err(build_error)?,
        )
        .send()
        .await
        .map_err(backend)?;
    Ok(())
}

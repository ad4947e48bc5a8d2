//! Identifiers. Each is a parsed newtype so a payout id can never be passed as a barber id.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: {reason}")]
pub struct InvalidId {
    pub kind: &'static str,
    pub reason: &'static str,
}

const MAX_ID_LEN: usize = 64;

/// Ids travel in URLs, DynamoDB keys (`BARBER#id`), file names and Stripe metadata, so they are
/// restricted to characters that are safe in all four; the first is a letter or digit, so no id
/// is `.`, `..` or looks like an option or a formula. The one pattern every id matches:
/// `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`.
fn validate(kind: &'static str, raw: &str) -> Result<(), InvalidId> {
    if raw.is_empty() {
        return Err(InvalidId {
            kind,
            reason: "must not be empty",
        });
    }
    if raw.len() > MAX_ID_LEN {
        return Err(InvalidId {
            kind,
            reason: "must be at most 64 characters",
        });
    }
    if !raw.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(InvalidId {
            kind,
            reason: "must start with a letter or digit",
        });
    }
    if !raw
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(InvalidId {
            kind,
            reason: "may contain only letters, digits, '-', '_' and '.'",
        });
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: impl Into<String>) -> Result<Self, InvalidId> {
                let raw = raw.into();
                validate($kind, &raw)?;
                Ok(Self(raw))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                Self::parse(raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A barber of the marketplace (the payee).
    BarberId,
    "barber id"
);
id_type!(
    /// One service performed, as the booking platform identifies it.
    EarningId,
    "earning id"
);
id_type!(
    /// One deduction (booth rent, supply fee...) charged to a barber.
    DeductionId,
    "deduction id"
);
id_type!(
    /// A payout. Scheduled payouts get a deterministic id so a planner that runs twice creates
    /// nothing twice.
    PayoutId,
    "payout id"
);

impl PayoutId {
    /// The id of the scheduled payout that closes `barber`'s period at `cutoff`.
    pub fn scheduled(barber: &BarberId, cutoff: DateTime<Utc>) -> Self {
        Self(bounded(format!(
            "po_{}_{}",
            cutoff.timestamp(),
            barber.as_str()
        )))
    }

    /// The id of a manual payout requested at `requested_at`.
    pub fn manual(barber: &BarberId, requested_at: DateTime<Utc>) -> Self {
        Self(bounded(format!(
            "pm_{}_{}",
            requested_at.timestamp_millis(),
            barber.as_str()
        )))
    }
}

impl EarningId {
    /// What the id of a tip recorded with its booking starts with; no other earning's does.
    pub const TIP_PREFIX: &str = "tip_";

    /// The tip a client left with the service `service` (a booking's earning).
    pub fn tip_of(service: &EarningId) -> Self {
        Self(bounded(format!("{}{}", Self::TIP_PREFIX, service.as_str())))
    }
}

impl DeductionId {
    /// The instance of a recurring deduction for the period closing at `cutoff`.
    pub fn for_period(&self, cutoff: DateTime<Utc>) -> Self {
        Self(bounded(format!("{}-{}", self.0, cutoff.timestamp())))
    }

    /// The deduction that carries a negative period balance into the next payout.
    pub fn carried_from(payout: &PayoutId) -> Self {
        Self(bounded(format!("carry_{}", payout.as_str())))
    }

    /// Whether this id has the shape of one the system derives (a carried balance, a refund,
    /// a reserve's line, release or withdrawal), which a submitted deduction may not take: it
    /// would stand where the system's own must be written.
    pub fn is_derived(&self) -> bool {
        DERIVED_PREFIXES
            .iter()
            .any(|prefix| self.0.starts_with(prefix))
    }

    /// The line of a payout's breakdown that keeps its reserve.
    pub fn reserve_of(payout: &PayoutId) -> Self {
        Self(bounded(format!("reserve_{}", payout.as_str())))
    }

    /// The release of the reserve a payout kept.
    pub fn reserve_released_from(payout: &PayoutId) -> Self {
        Self(bounded(format!("reserve-release_{}", payout.as_str())))
    }

    /// The release of a cancelled payout's reserve, owed back.
    pub fn reserve_withdrawn_from(payout: &PayoutId) -> Self {
        Self(bounded(format!("reserve-withdrawn_{}", payout.as_str())))
    }

    /// The instant fee given back for a payout the provider paid standard instead.
    pub fn fee_credit_of(payout: &PayoutId) -> Self {
        Self(bounded(format!("fee-credit_{}", payout.as_str())))
    }
}

/// The prefixes of the deduction ids the system derives.
pub const DERIVED_PREFIXES: [&str; 6] = [
    "carry_",
    "fee-credit_",
    "refund-",
    "reserve_",
    "reserve-release_",
    "reserve-withdrawn_",
];

/// Barber ids may use all 64 characters, so a prefixed derived id can exceed the limit: a long
/// one keeps its head and a stable FNV-1a hash of the whole instead of its tail.
fn bounded(raw: String) -> String {
    if raw.len() <= MAX_ID_LEN {
        return raw;
    }
    let digest = raw.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let head: String = raw.chars().take(MAX_ID_LEN - 17).collect();
    format!("{head}-{digest:016x}")
}

/// An id as clients send it, a string or a whole number (`"barber_id": 123`), as text; for
/// `#[serde(deserialize_with)]`. Anything else is refused saying what is expected.
pub fn text_or_whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    struct TextOrNumber;
    impl serde::de::Visitor<'_> for TextOrNumber {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or a whole number")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<String, E> {
            Ok(text.to_string())
        }
        fn visit_u64<E: serde::de::Error>(self, number: u64) -> Result<String, E> {
            Ok(number.to_string())
        }
    }
    deserializer.deserialize_any(TextOrNumber)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn rejects_unsafe_ids() {
        assert!(BarberId::parse("").is_err());
        assert!(BarberId::parse("a#b").is_err());
        assert!(BarberId::parse("..").is_err());
        assert!(BarberId::parse("-x").is_err());
        assert!(BarberId::parse("x".repeat(65)).is_err());
        assert!(BarberId::parse("barber-123").is_ok());
    }

    #[test]
    fn scheduled_payout_ids_are_deterministic_and_valid() {
        let cutoff = Utc.with_ymd_and_hms(2026, 11, 27, 17, 0, 0).unwrap();
        let barber = BarberId::parse("b".repeat(64)).unwrap();
        let a = PayoutId::scheduled(&barber, cutoff);
        assert_eq!(a, PayoutId::scheduled(&barber, cutoff));
        assert!(PayoutId::parse(a.as_str()).is_ok());
        let short = BarberId::parse("123").unwrap();
        assert_eq!(
            PayoutId::scheduled(&short, cutoff).as_str(),
            "po_1795798800_123"
        );
    }
}

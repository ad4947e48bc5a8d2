//! Enums that travel as text (JSON, SQL columns, URLs) get the same three conversions from
//! their `FromStr` and their name method; this macro writes them once.

/// Implements `TryFrom<String>` (via `FromStr`), `From<T> for String` and `Display` for `$type`,
/// whose canonical text is `$type::$name(self)`.
macro_rules! text_conversions {
    ($type:ty, $name:ident) => {
        impl TryFrom<String> for $type {
            type Error = <$type as std::str::FromStr>::Err;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                raw.parse()
            }
        }

        impl From<$type> for String {
            fn from(value: $type) -> Self {
                value.$name().to_string()
            }
        }

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.$name())
            }
        }
    };
}

pub(crate) use text_conversions;

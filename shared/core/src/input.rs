//! Free text and contact details as people type them: every string has a length limit and a
//! character set, checked before anything is stored.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidInput {
    pub field: &'static str,
    pub reason: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> InvalidInput {
    InvalidInput {
        field,
        reason: reason.into(),
    }
}

/// Text a person wrote (a service name, a description, a bank reference): at most
/// `max_chars` characters and no control characters (NUL, escape, line breaks...), which would
/// break the logs, the bank file and the notices they travel into.
pub fn free_text(field: &'static str, raw: &str, max_chars: usize) -> Result<(), InvalidInput> {
    if raw.chars().count() > max_chars {
        return Err(invalid(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// An instant as people send it, RFC 3339 (`2026-12-05T14:30:00Z`), for
/// `#[serde(deserialize_with)]`; anything else is refused saying so (chrono's own message is
/// "input contains invalid characters").
pub fn rfc3339<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<chrono::DateTime<chrono::Utc>, D::Error> {
    use serde::Deserialize;
    let text = String::deserialize(deserializer)?;
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|at| at.with_timezone(&chrono::Utc))
        .map_err(|_| {
            serde::de::Error::custom(format!(
                "`{text}` is not a time; expected RFC 3339, e.g. \"2026-12-05T14:30:00Z\""
            ))
        })
}

/// The longest email address SMTP carries (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;

/// An address with one `@`, a dotted domain, no spaces or control characters, at most 254
/// characters. Deliverability is the mail server's to judge; this refuses what cannot be one.
pub fn email(raw: &str) -> Result<(), InvalidInput> {
    let bad = || invalid("email", "must be an email address such as name@example.com");
    if raw.len() > MAX_EMAIL {
        return Err(invalid(
            "email",
            format!("must be at most {MAX_EMAIL} characters"),
        ));
    }
    let (local, domain) = raw.split_once('@').ok_or_else(bad)?;
    let well_formed = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !raw.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@');
    if well_formed { Ok(()) } else { Err(bad()) }
}

/// A phone number in E.164 (`+` then 8 to 15 digits, the first not 0), as SMS providers want.
pub fn phone_e164(raw: &str) -> Result<(), InvalidInput> {
    let digits = raw.strip_prefix('+').unwrap_or("");
    let ok = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "phone",
            "must be an E.164 number such as +14155550123",
        ))
    }
}

/// A Stripe connected account id: `acct_` and 1 to 64 letters or digits.
pub fn connected_account(raw: &str) -> Result<(), InvalidInput> {
    let rest = raw.strip_prefix("acct_").unwrap_or("");
    if (1..=64).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(invalid(
            "connected_account_id",
            "must be a Stripe account id such as acct_1A2b3C",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_refuses_control_characters_and_long_text() {
        assert!(free_text("service", "Fade & beard", 200).is_ok());
        assert!(free_text("service", "fade\0", 200).is_err());
        assert!(free_text("service", "line\nbreak", 200).is_err());
        assert!(free_text("service", &"x".repeat(201), 200).is_err());
    }

    #[test]
    fn contact_details() {
        assert!(email("ana@example.com").is_ok());
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "a b@example.com",
            "ana@example",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
        assert!(email(&format!("{}@example.com", "a".repeat(300))).is_err());
        assert!(phone_e164("+14155550123").is_ok());
        for bad in [
            "4155550123",
            "+0155550123",
            "+1415555012345678",
            "+1 415 555",
        ] {
            assert!(phone_e164(bad).is_err(), "{bad}");
        }
        assert!(connected_account("acct_1A2b3C").is_ok());
        for bad in [
            "evil",
            "acct_",
            "acct_a-b",
            &format!("acct_{}", "a".repeat(65)),
        ] {
            assert!(connected_account(bad).is_err(), "{bad}");
        }
    }
}

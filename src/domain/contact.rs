//! The contact details a Basiq user is created with (and the Consent UI sends its one-time
//! codes to): an email, or a mobile in international format.

/// A contact detail that is not one, and why.
#[derive(Debug, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub detail: &'static str,
}

/// The most characters an email may have (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;
/// The most characters a mobile may have: `+` and E.164's 15 digits.
pub const MAX_MOBILE: usize = 16;

/// An email, trimmed; `None` for none or an empty one.
pub fn email(value: Option<String>) -> Result<Option<String>, Invalid> {
    check(
        "email",
        value,
        MAX_EMAIL,
        looks_like_email,
        "is not an email address",
    )
}

/// A mobile in international format (E.164: `+` and 8-15 digits), trimmed; `None` for none
/// or an empty one.
pub fn mobile(value: Option<String>) -> Result<Option<String>, Invalid> {
    check(
        "mobile",
        value,
        MAX_MOBILE,
        looks_like_mobile,
        "must be a phone number in international format, e.g. +61400000000",
    )
}

fn check(
    field: &'static str,
    value: Option<String>,
    max: usize,
    looks_right: fn(&str) -> bool,
    wrong: &'static str,
) -> Result<Option<String>, Invalid> {
    match value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if v.len() > max || v.chars().any(char::is_control) => Err(Invalid {
            field,
            detail: "is too long or has control characters",
        }),
        Some(v) if !looks_right(&v) => Err(Invalid {
            field,
            detail: wrong,
        }),
        Some(v) => Ok(Some(v)),
    }
}

fn looks_like_email(v: &str) -> bool {
    v.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !v.chars().any(char::is_whitespace)
    })
}

fn looks_like_mobile(v: &str) -> bool {
    v.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_validated() {
        assert!(email(Some("a@b.co".into())).unwrap().is_some());
        assert!(email(Some("nope".into())).is_err());
        // What Basiq would refuse is refused here, before it is sent.
        for bad in ["a@b.", "a@b@c.co", "a\u{a0}b@c.co"] {
            assert!(email(Some(bad.into())).is_err(), "{bad}");
        }
        assert!(mobile(Some("+61400000000".into())).is_ok());
        assert_eq!(mobile(Some("0400 000".into())).unwrap_err().field, "mobile");
        // E.164: the `+` and the country code are not optional.
        assert!(mobile(Some("0400000000".into())).is_err());
        assert!(mobile(Some("+0400000000".into())).is_err());
        assert!(email(Some("  ".into())).unwrap().is_none());
        assert!(email(Some(format!("{}@example.com", "a".repeat(300)))).is_err());
    }
}

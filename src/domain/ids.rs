//! What a Basiq id looks like. Every id that goes into a path at Basiq is checked against
//! this, wherever it came from: a client, or an earlier answer of Basiq's.

/// 1–64 letters, digits, `-` or `_`: Basiq's ids (UUIDs, hex event ids, `AU00000`) fit, and
/// nothing that could change a path or a query does.
pub fn is_basiq_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_with_anything_but_safe_characters_are_refused() {
        assert!(is_basiq_id("abc-123_X"));
        assert!(is_basiq_id(&"f".repeat(64)));
        for bad in [
            "",
            "a/b",
            "a'b",
            "a b",
            "../x",
            &"a".repeat(65),
            "a%2Fb",
            "a?b",
            "a#b",
            "ä",
        ] {
            assert!(!is_basiq_id(bad), "{bad}");
        }
    }
}

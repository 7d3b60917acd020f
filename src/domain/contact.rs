//! The contact details a Basiq user is created with (and the Consent UI sends its one-time
//! codes to): an email, or a mobile in international format. What Basiq would be sent is
//! checked here first:
//! - an email has no invisible format characters anywhere (Unicode's general category Cf:
//!   bidirectional overrides and isolates, zero-width spaces and joiners, soft hyphens), which
//!   make one address display as another, and no label of its domain mixes scripts (a Cyrillic
//!   `а` among Latin letters), as in Unicode's security mechanisms (UTS #39);
//! - a mobile is E.164: `+`, a country calling code that is assigned, and as many digits after
//!   it as that country's mobile numbers have at least (8 to 15 digits in all).

use icu_properties::{
    CodePointMapData,
    props::{GeneralCategory, Script},
    script::ScriptWithExtensions,
};

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
    check("email", value, MAX_EMAIL, email_problem)
}

/// A mobile in international format (E.164: `+`, an assigned country code and the country's
/// number of digits), trimmed; `None` for none or an empty one.
pub fn mobile(value: Option<String>) -> Result<Option<String>, Invalid> {
    check("mobile", value, MAX_MOBILE, mobile_problem)
}

fn check(
    field: &'static str,
    value: Option<String>,
    max: usize,
    problem: fn(&str) -> Option<&'static str>,
) -> Result<Option<String>, Invalid> {
    match value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if v.len() > max || v.chars().any(char::is_control) => Err(Invalid {
            field,
            detail: "is too long or has control characters",
        }),
        Some(v) => match problem(&v) {
            Some(detail) => Err(Invalid { field, detail }),
            None => Ok(Some(v)),
        },
    }
}

fn email_problem(v: &str) -> Option<&'static str> {
    let format = CodePointMapData::<GeneralCategory>::new();
    if v.chars().any(|c| format.get(c) == GeneralCategory::Format) {
        return Some(
            "has invisible formatting characters (bidirectional controls, zero-width or other \
             format characters)",
        );
    }
    let Some((local, domain)) = v.split_once('@') else {
        return Some("is not an email address");
    };
    if local.is_empty()
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains('@')
        || v.chars().any(char::is_whitespace)
    {
        return Some("is not an email address");
    }
    if domain.split('.').any(mixes_scripts) {
        return Some("has a domain name mixing scripts in one label (such as Latin and Cyrillic)");
    }
    None
}

/// A script, or one of the writing systems that combine several (UTS #39's augmented script
/// sets: Japanese writes Han with Hiragana and Katakana, Korean Han with Hangul, and Han is
/// also written with Bopomofo).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Writing {
    Script(Script),
    Japanese,
    Korean,
    HanWithBopomofo,
}

/// Whether a domain label has letters of scripts no single writing system has together: no
/// script is shared by every character's scripts (its Script_Extensions, augmented; Common
/// and Inherited characters such as digits and `-` go with any).
fn mixes_scripts(label: &str) -> bool {
    let scripts = ScriptWithExtensions::new();
    let mut shared: Option<Vec<Writing>> = None;
    for c in label.chars() {
        let mut of_c = Vec::new();
        for script in scripts.get_script_extensions_val(c).iter() {
            if script == Script::Common || script == Script::Inherited {
                continue;
            }
            of_c.push(Writing::Script(script));
            of_c.extend_from_slice(match script {
                Script::Han => &[Writing::Japanese, Writing::Korean, Writing::HanWithBopomofo][..],
                Script::Hiragana | Script::Katakana => &[Writing::Japanese],
                Script::Hangul => &[Writing::Korean],
                Script::Bopomofo => &[Writing::HanWithBopomofo],
                _ => &[],
            });
        }
        if of_c.is_empty() {
            continue;
        }
        let now = match shared.take() {
            None => of_c,
            Some(before) => before.into_iter().filter(|w| of_c.contains(w)).collect(),
        };
        if now.is_empty() {
            return true;
        }
        shared = Some(now);
    }
    false
}

fn mobile_problem(v: &str) -> Option<&'static str> {
    let Some(digits) = v
        .strip_prefix('+')
        .filter(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
    else {
        return Some("must be a phone number in international format, e.g. +61400000000");
    };
    // Country codes are prefix-free: at most one of a number's first three prefixes is one.
    let Some((national, shortest)) = (1..=3).find_map(|n| {
        let code: u16 = digits[..n].parse().ok()?;
        let i = CALLING_CODES
            .binary_search_by_key(&code, |&(c, _)| c)
            .ok()?;
        Some((&digits[n..], CALLING_CODES[i].1))
    }) else {
        return Some("does not start with an assigned country calling code");
    };
    if national.len() < usize::from(shortest) {
        return Some("has too few digits for a mobile number of its country");
    }
    None
}

/// The assigned E.164 country calling codes, and the fewest digits a mobile number under each
/// has after it (of any number, for codes without mobiles: international freephone, shared
/// cost, networks), in order. From libphonenumber's metadata (PhoneNumberMetadata.xml,
/// release 9.0.x): its calling codes are those the ITU-T has assigned and countries use (the
/// "List of ITU-T Recommendation E.164 assigned country codes", with the spare and reserved
/// codes left out), and its mobile possible lengths follow each country's numbering plan as
/// notified to the ITU. Across a code shared by several countries (1, 7, 44, 61, …) the least.
#[rustfmt::skip]
const CALLING_CODES: &[(u16, u8)] = &[
    (1, 10), (7, 10), (20, 10), (27, 5), (30, 10), (31, 9), (32, 9), (33, 9),
    (34, 9), (36, 9), (39, 9), (40, 9), (41, 9), (43, 7), (44, 10), (45, 8),
    (46, 9), (47, 8), (48, 9), (49, 10), (51, 9), (52, 10), (53, 8), (54, 10),
    (55, 10), (56, 9), (57, 10), (58, 10), (60, 9), (61, 9), (62, 9), (63, 10),
    (64, 8), (65, 8), (66, 9), (81, 10), (82, 9), (84, 9), (86, 11), (90, 10),
    (91, 10), (92, 10), (93, 9), (94, 9), (95, 7), (98, 10), (211, 9), (212, 9),
    (213, 9), (216, 8), (218, 9), (220, 7), (221, 9), (222, 8), (223, 8), (224, 9),
    (225, 10), (226, 8), (227, 8), (228, 8), (229, 10), (230, 8), (231, 7), (232, 8),
    (233, 9), (234, 10), (235, 8), (236, 8), (237, 9), (238, 7), (239, 7), (240, 9),
    (241, 7), (242, 9), (243, 7), (244, 9), (245, 9), (246, 7), (247, 5), (248, 7),
    (249, 9), (250, 9), (251, 9), (252, 7), (253, 8), (254, 9), (255, 9), (256, 9),
    (257, 8), (258, 9), (260, 9), (261, 9), (262, 9), (263, 9), (264, 9), (265, 9),
    (266, 8), (267, 8), (268, 8), (269, 7), (290, 5), (291, 7), (297, 7), (298, 6),
    (299, 6), (350, 8), (351, 9), (352, 9), (353, 9), (354, 7), (355, 9), (356, 8),
    (357, 8), (358, 6), (359, 8), (370, 8), (371, 8), (372, 7), (373, 8), (374, 8),
    (375, 9), (376, 6), (377, 8), (378, 8), (380, 9), (381, 8), (382, 8), (383, 8),
    (385, 8), (386, 8), (387, 8), (389, 8), (420, 9), (421, 9), (423, 7), (500, 5),
    (501, 7), (502, 8), (503, 8), (504, 8), (505, 8), (506, 8), (507, 7), (508, 6),
    (509, 8), (590, 9), (591, 8), (592, 7), (593, 9), (594, 9), (595, 9), (596, 9),
    (597, 7), (598, 8), (599, 7), (670, 8), (672, 6), (673, 7), (674, 7), (675, 8),
    (676, 7), (677, 5), (678, 7), (679, 7), (680, 7), (681, 6), (682, 5), (683, 4),
    (685, 7), (686, 8), (687, 6), (688, 6), (689, 8), (690, 4), (691, 7), (692, 7),
    (800, 8), (808, 8), (850, 10), (852, 8), (853, 8), (855, 8), (856, 9), (870, 9),
    (878, 12), (880, 10), (881, 9), (882, 7), (883, 8), (886, 9), (888, 11), (960, 7),
    (961, 7), (962, 9), (963, 9), (964, 10), (965, 8), (966, 9), (967, 9), (968, 8),
    (970, 9), (971, 9), (972, 9), (973, 8), (974, 8), (975, 8), (976, 8), (977, 10),
    (979, 9), (992, 9), (993, 8), (994, 9), (995, 9), (996, 9), (998, 9),
];

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

    #[test]
    fn an_email_with_invisible_format_characters_is_refused_wherever_they_are() {
        for bad in [
            // Right-to-left override: displays as "alice@moc.elpmaxe"-like text.
            "alice\u{202e}@example.com",
            "alice@exa\u{2067}mple.com",
            // Zero-width space and joiner, word joiner, byte-order mark, soft hyphen.
            "al\u{200b}ice@example.com",
            "alice@exam\u{200d}ple.com",
            "alice\u{2060}@example.com",
            "\u{feff}alice@example.com",
            "alice@pay\u{ad}pal.com",
            // Left-to-right and Arabic letter marks.
            "alice@example.com\u{200e}",
            "alice\u{61c}@example.com",
        ] {
            let err = email(Some(bad.into())).unwrap_err();
            assert_eq!(err.field, "email");
            assert!(err.detail.contains("invisible"), "{bad:?}: {}", err.detail);
        }
    }

    #[test]
    fn an_email_whose_domain_mixes_scripts_in_a_label_is_refused() {
        // A Cyrillic "а" (U+0430) in a Latin name; a Greek omicron; Latin with Han.
        for bad in [
            "alice@p\u{430}ypal.com",
            "alice@g\u{3bf}ogle.com",
            "alice@mail.exam\u{4e2d}ple.com",
        ] {
            let err = email(Some(bad.into())).unwrap_err();
            assert!(
                err.detail.contains("mixing scripts"),
                "{bad:?}: {}",
                err.detail
            );
        }
        // One script per label is fine, whatever the script, and so are digits and hyphens,
        // labels of different scripts, and the scripts Japanese writes together.
        for good in [
            "alice@example-2.com",
            "alice@\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}.\u{440}\u{444}",
            "alice@\u{4f8b}\u{3048}.\u{30c6}\u{30b9}\u{30c8}.jp",
            "alice@b\u{fc}cher.example.com",
            // Mixed scripts in the local part are the mailbox owner's business.
            "\u{430}lice@example.com",
        ] {
            assert!(email(Some(good.into())).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn a_mobile_needs_an_assigned_country_code_and_enough_digits_for_its_country() {
        for good in [
            "+61400000000",
            "+14155550123",
            "+447700900123",
            "+4915112345678",
            "+8613912345678",
            "+6591234567",
            "+8613800138000",
            "+881612345678",
        ] {
            assert_eq!(mobile(Some(good.into())), Ok(Some(good.into())), "{good}");
        }
        for (bad, why) in [
            // Too few digits: the example, and numbers one digit short of their country.
            ("+12345678", "too few digits"),
            ("+6140000000", "too few digits"),
            ("+1415555012", "too few digits"),
            ("+44770090012", "too few digits"),
            // Unassigned country codes: 28x, 80x (but 800 and 808), 999.
            ("+2801234567", "country calling code"),
            ("+8011234567", "country calling code"),
            ("+999123456789", "country calling code"),
            ("+2101234567", "country calling code"),
        ] {
            let err = mobile(Some(bad.into())).unwrap_err();
            assert_eq!(err.field, "mobile");
            assert!(err.detail.contains(why), "{bad}: {}", err.detail);
        }
    }

    #[test]
    fn the_calling_code_table_is_in_order_and_prefix_free() {
        assert!(CALLING_CODES.windows(2).all(|w| w[0].0 < w[1].0));
        for &(code, shortest) in CALLING_CODES {
            assert!(
                (1..=999).contains(&code) && (4..=13).contains(&shortest),
                "{code}"
            );
            let code = code.to_string();
            assert!(
                CALLING_CODES
                    .iter()
                    .all(|&(other, _)| other.to_string() == code
                        || !other.to_string().starts_with(&code)),
                "{code} is a prefix of another code"
            );
        }
    }
}

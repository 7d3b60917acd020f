//! The person behind a connection, as the bank knows them: Basiq's connection `profile`, and
//! the name on the accounts.
//!
//! The bank's view is taken once, when the connection is made: from the Basiq user's own
//! details where the app gave them, else from the sandbox login's persona, else drawn from
//! the seed. Fallback phone numbers are in the mobile range ACMA reserves for fiction.

use super::Rng;

/// What is known of the person logging in, at the time they connect.
pub struct Known<'a> {
    /// Seeds what is drawn for them: the same person at the same login is always the same.
    pub seed: u64,
    pub login_id: &'a str,
    pub first_name: &'a str,
    pub middle_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    pub mobile: &'a str,
}

#[derive(Clone, Debug)]
pub struct Profile {
    pub first_name: String,
    pub middle_name: String,
    pub last_name: String,
    pub email: String,
    /// As Basiq shows it: all but the last six digits masked, e.g. `XXXX 570 006`.
    pub phone: String,
    pub address: &'static Address,
}

impl Profile {
    pub fn full_name(&self) -> String {
        [&self.first_name, &self.middle_name, &self.last_name]
            .into_iter()
            .filter(|n| !n.is_empty())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn of(known: &Known) -> Profile {
        let mut rng = Rng::new(known.seed);
        let (first, middle, last) = if !known.first_name.is_empty() && !known.last_name.is_empty() {
            (known.first_name, known.middle_name, known.last_name)
        } else if let Some(&(_, first, middle, last)) =
            PERSONAS.iter().find(|(login, ..)| *login == known.login_id)
        {
            (first, middle, last)
        } else {
            (*rng.pick(FIRST_NAMES), "", *rng.pick(LAST_NAMES))
        };
        let email = if known.email.is_empty() {
            let local: String = format!("{first}.{last}")
                .to_lowercase()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
                .collect();
            format!("{local}@example.com")
        } else {
            known.email.to_owned()
        };
        let phone = masked(known.mobile).unwrap_or_else(|| {
            let fictional = *rng.pick(FICTIONAL_MOBILES);
            masked(fictional).expect("fictional mobiles have ten digits")
        });
        Profile {
            first_name: first.to_owned(),
            middle_name: middle.to_owned(),
            last_name: last.to_owned(),
            email,
            phone,
            address: rng.pick(ADDRESSES),
        }
    }
}

/// An Australian number as Basiq masks it (`XXXX 888 991`), if it has enough digits.
fn masked(number: &str) -> Option<String> {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let last6 = digits.get(digits.len().checked_sub(6)?..)?;
    let (a, b): (String, String) = (last6[..3].iter().collect(), last6[3..].iter().collect());
    Some(format!("XXXX {a} {b}"))
}

/// A home address; `city` is the metropolitan area, as Basiq's profile gives it.
#[derive(Debug)]
pub struct Address {
    pub line1: &'static str,
    pub suburb: &'static str,
    pub state: &'static str,
    pub postcode: &'static str,
    pub city: &'static str,
}

impl Address {
    /// `13/91 Fisher Rd, Dee Why NSW 2099`
    pub fn formatted(&self) -> String {
        format!(
            "{}, {} {} {}",
            self.line1, self.suburb, self.state, self.postcode
        )
    }
}

const fn address(
    line1: &'static str,
    suburb: &'static str,
    state: &'static str,
    postcode: &'static str,
    city: &'static str,
) -> Address {
    Address {
        line1,
        suburb,
        state,
        postcode,
        city,
    }
}

static ADDRESSES: &[Address] = &[
    address("13/91 Fisher Rd", "Dee Why", "NSW", "2099", "Sydney"),
    address("4/27 Wilson St", "Newtown", "NSW", "2042", "Sydney"),
    address("18 Rae St", "Fitzroy North", "VIC", "3068", "Melbourne"),
    address("7/112 Brighton Rd", "Elwood", "VIC", "3184", "Melbourne"),
    address("22 Latrobe Tce", "Paddington", "QLD", "4064", "Brisbane"),
    address("5 Hensman St", "South Perth", "WA", "6151", "Perth"),
    address("31 Osmond Tce", "Norwood", "SA", "5067", "Adelaide"),
    address("9 Mort St", "Braddon", "ACT", "2612", "Canberra"),
];

/// Hooli's sandbox logins and who they are (login, first, middle, last).
static PERSONAS: &[(&str, &str, &str, &str)] = &[
    ("Wentworth-Smith", "Max", "James", "Wentworth-Smith"),
    ("gavinBelson", "Gavin", "", "Belson"),
    ("bighead", "Nelson", "", "Bighetti"),
    ("erlich", "Erlich", "", "Bachman"),
    ("jianYang", "Jian", "", "Yang"),
];

static FIRST_NAMES: &[&str] = &[
    "Olivia",
    "Jack",
    "Charlotte",
    "Noah",
    "Amelia",
    "William",
    "Isla",
    "Oliver",
    "Mia",
    "Lachlan",
];

static LAST_NAMES: &[&str] = &[
    "Smith", "Nguyen", "Williams", "Brown", "Wilson", "Taylor", "Jones", "Walker", "Chen", "Kelly",
];

static FICTIONAL_MOBILES: &[&str] = &[
    "0491 570 006",
    "0491 570 156",
    "0491 570 157",
    "0491 570 158",
    "0491 570 159",
    "0491 570 110",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn known<'a>(login_id: &'a str, first: &'a str, last: &'a str, mobile: &'a str) -> Known<'a> {
        Known {
            seed: 1,
            login_id,
            first_name: first,
            middle_name: "",
            last_name: last,
            email: "",
            mobile,
        }
    }

    #[test]
    fn the_users_own_names_win_then_the_sandbox_persona() {
        let p = Profile::of(&known("gavinBelson", "Richard", "Hendricks", ""));
        assert_eq!(p.full_name(), "Richard Hendricks");
        let p = Profile::of(&known("Wentworth-Smith", "", "", ""));
        assert_eq!(p.full_name(), "Max James Wentworth-Smith");
        assert_eq!(p.email, "max.wentworth-smith@example.com");
    }

    #[test]
    fn phone_numbers_are_masked_to_their_last_six_digits() {
        let p = Profile::of(&known("x", "", "", "+61410123456"));
        assert_eq!(p.phone, "XXXX 123 456");
        let p = Profile::of(&known("x", "", "", "12"));
        assert!(p.phone.starts_with("XXXX 57"), "{}", p.phone);
    }
}

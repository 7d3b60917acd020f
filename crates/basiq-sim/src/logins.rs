//! How Basiq's sandbox logins behave at any sandbox institution, as reference/TOPICS/testing.md
//! lists them: the personas succeed, the unhappy-path users fail at their documented step with
//! their documented code and detail, and anything else is rejected credentials.

use std::borrow::Cow;

/// How a connection job ends for a given login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Fails at `job::Step::ALL[step]`; later steps stay pending.
    Fail {
        step: usize,
        code: Cow<'static, str>,
        title: Cow<'static, str>,
        detail: Cow<'static, str>,
    },
}

/// Failure codes that make a connection `invalid` at any step: the user-related errors
/// reference/Core/events/index.md lists for `connection.invalidated`, and rejected credentials.
const INVALIDATING: [&str; 6] = [
    "user-action-required",
    "invalid-username-or-password",
    "invalid-connection",
    "locked-account",
    "multifactor-required",
    "invalid-credentials",
];

impl Outcome {
    fn fail(step: usize, code: &'static str, title: &'static str, detail: &'static str) -> Self {
        Self::Fail {
            step,
            code: code.into(),
            title: title.into(),
            detail: detail.into(),
        }
    }

    /// Whether ending this way makes the connection invalid: a user-related failure, at any
    /// step (reference/Core/events/index.md, `connection.invalidated`).
    pub fn invalidates(&self) -> bool {
        match self {
            Self::Success => false,
            Self::Fail { code, .. } => INVALIDATING.contains(&code.as_ref()),
        }
    }
}

/// The personas of the testing page (login, password).
const PERSONAS: [(&str, &str); 8] = [
    ("Wentworth-Smith", "whislter"),
    ("Whistler", "ShowBox"),
    ("Gilfoyle", "PiedPiper"),
    ("gavinBelson", "hooli2016"),
    ("jared", "django"),
    ("richard", "tabsnotspaces"),
    ("laurieBream", "business2024"),
    ("ashMann", "hooli2024"),
];

pub fn outcome_for(login_id: &str, password: &str) -> Outcome {
    if PERSONAS.contains(&(login_id, password)) {
        return Outcome::Success;
    }
    match (login_id, password) {
        ("bighead", "password") => Outcome::fail(
            0,
            "invalid-credentials",
            "Cannot login to target institution using supplied credentials.",
            "Account is locked",
        ),
        ("erlich", "aviato") => Outcome::fail(
            1,
            "account-not-accessible-requires-user-action",
            "Account not accessible, requires user action.",
            "An action is required from end-user before account details can be returned.",
        ),
        ("jianYang", "nothotdog") => Outcome::fail(
            0,
            "service-unavailable",
            "Service unavailable.",
            "Service is currently unavailable. Please try again later.",
        ),
        _ => Outcome::fail(
            0,
            "invalid-credentials",
            "Cannot login to target institution using supplied credentials.",
            "Cannot login to target institution, check credentials and try again.",
        ),
    }
}

/// A login's MFA challenge (the testing page's "MFA users" table).
#[derive(Debug, PartialEq, Eq)]
pub struct MfaChallenge {
    /// `token` or `security-questions`.
    pub method: &'static str,
    /// What the job's step says, as in the migration guide's examples.
    pub description: &'static str,
    pub input: &'static [&'static str],
    pub solution: &'static [&'static str],
}

impl MfaChallenge {
    /// A response is right when it has one answer per input, each equal to its solution once
    /// trimmed.
    pub fn accepts(&self, response: &[String]) -> bool {
        response.len() == self.solution.len()
            && response
                .iter()
                .zip(self.solution)
                .all(|(given, expected)| given.trim() == *expected)
    }
}

const TOKEN: MfaChallenge = MfaChallenge {
    method: "token",
    description: "A SMS code has been sent to your device, please enter valid number",
    input: &["OTP Password"],
    solution: &["1234"],
};

/// gavinBelson's and Gilfoyle's challenge.
pub const FIRST_COMPANY: MfaChallenge = MfaChallenge {
    method: "security-questions",
    description: "security-questions",
    input: &["What's your first company?"],
    solution: &["Hooli"],
};

const TWO_QUESTIONS: MfaChallenge = MfaChallenge {
    method: "security-questions",
    description: "security-questions",
    input: &[
        "What's your favourite company?",
        "What's the ID of this institution?",
    ],
    solution: &["Basiq", "AU00000"],
};

static MFA_USERS: [((&str, &str), MfaChallenge); 6] = [
    (("jared", "django"), TOKEN),
    (("richard", "tabsnotspaces"), TOKEN),
    (("gavinBelson", "hooli2016"), FIRST_COMPANY),
    (("Gilfoyle", "PiedPiper"), FIRST_COMPANY),
    (("Whistler", "ShowBox"), TWO_QUESTIONS),
    (("Wentworth-Smith", "whislter"), TWO_QUESTIONS),
];

/// The MFA challenge of a login, if it has one.
pub fn mfa_for(login_id: &str, password: &str) -> Option<&'static MfaChallenge> {
    MFA_USERS
        .iter()
        .find(|(login, _)| *login == (login_id, password))
        .map(|(_, challenge)| challenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mfa_response_must_answer_every_question_exactly_once_trimmed() {
        let c = mfa_for("Whistler", "ShowBox").unwrap();
        let answers = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(c.accepts(&answers(&[" Basiq ", "AU00000"])));
        assert!(!c.accepts(&answers(&["Basiq"])));
        assert!(!c.accepts(&answers(&["basiq", "AU00000"])));
        assert!(!c.accepts(&answers(&["Basiq", "AU00000", "x"])));
        assert_eq!(mfa_for("jared", "django").unwrap().method, "token");
        assert!(mfa_for("jared", "wrong").is_none());
        assert!(mfa_for("laurieBream", "business2024").is_none());
    }
}

//! How Basiq's sandbox logins behave at any sandbox institution, as reference/TOPICS/testing.md
//! lists them: the personas succeed, the unhappy-path users fail at their documented step with
//! their documented code and detail, and anything else is rejected credentials.

/// How a connection job ends for a given login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Fails at `job::Step::ALL[step]`; later steps stay pending.
    Fail {
        step: usize,
        code: &'static str,
        title: &'static str,
        detail: &'static str,
    },
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
        ("bighead", "password") => Outcome::Fail {
            step: 0,
            code: "invalid-credentials",
            title: "Cannot login to target institution using supplied credentials.",
            detail: "Account is locked",
        },
        ("erlich", "aviato") => Outcome::Fail {
            step: 1,
            code: "account-not-accessible-requires-user-action",
            title: "Account not accessible, requires user action.",
            detail: "An action is required from end-user before account details can be returned.",
        },
        ("jianYang", "nothotdog") => Outcome::Fail {
            step: 0,
            code: "service-unavailable",
            title: "Service unavailable.",
            detail: "Service is currently unavailable. Please try again later.",
        },
        _ => Outcome::Fail {
            step: 0,
            code: "invalid-credentials",
            title: "Cannot login to target institution using supplied credentials.",
            detail: "Cannot login to target institution, check credentials and try again.",
        },
    }
}

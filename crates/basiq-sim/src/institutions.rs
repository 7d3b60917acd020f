//! The sandbox institutions the simulator offers, and how the sandbox logins behave.

/// One sandbox institution (served as a connector and as an institution).
#[derive(Debug)]
pub struct Institution {
    pub id: &'static str,
    pub name: &'static str,
    pub short_name: &'static str,
    /// `web` or `openbanking`.
    pub method: &'static str,
    /// Connector status: `operational`, `degraded-performance`, …
    pub status: &'static str,
    pub tier: &'static str,
    /// Job steps at this institution take this many job steps each.
    pub slowness: u32,
}

impl Institution {
    pub fn is_open_banking(&self) -> bool {
        self.method == "openbanking"
    }
}

pub static INSTITUTIONS: &[Institution] = &[
    Institution {
        id: "AU00000",
        name: "Hooli",
        short_name: "Hooli",
        method: "web",
        status: "operational",
        tier: "4",
        slowness: 1,
    },
    Institution {
        id: "AU00001",
        name: "Hooli Open Banking",
        short_name: "Hooli OB",
        method: "openbanking",
        status: "operational",
        tier: "4",
        slowness: 1,
    },
    Institution {
        id: "AU00002",
        name: "Pied Piper Bank",
        short_name: "Pied Piper",
        method: "openbanking",
        status: "degraded-performance",
        tier: "4",
        slowness: 3,
    },
];

pub fn find(id: &str) -> Option<&'static Institution> {
    INSTITUTIONS.iter().find(|i| i.id == id)
}

/// Job steps, in order.
pub const STEPS: [&str; 3] = [
    "verify-credentials",
    "retrieve-accounts",
    "retrieve-transactions",
];

/// How a connection job ends for a given login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Fails at `STEPS[step]`; later steps stay pending.
    Fail {
        step: usize,
        code: &'static str,
        title: &'static str,
        detail: &'static str,
    },
}

/// Basiq's sandbox users (any sandbox institution); anything else is rejected credentials.
pub fn outcome_for(login_id: &str, password: &str) -> Outcome {
    match (login_id, password) {
        ("Wentworth-Smith", "whislter") | ("gavinBelson", "hooli2016") => Outcome::Success,
        ("erlich", "aviato") => Outcome::Fail {
            step: 1,
            code: "account-not-accessible-requires-user-action",
            title: "Account not accessible, requires user action.",
            detail: "The institution requires you to log in to its website and respond to a message before your accounts can be accessed.",
        },
        ("jianYang", "nothotdog") => Outcome::Fail {
            step: 0,
            code: "service-unavailable",
            title: "Service unavailable.",
            detail: "The institution's service is currently unavailable. Please try again later.",
        },
        _ => Outcome::Fail {
            step: 0,
            code: "invalid-credentials",
            title: "Cannot login to target institution using supplied credentials.",
            detail: "Cannot login to target institution, check credentials and try again.",
        },
    }
}

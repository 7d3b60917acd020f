//! The sandbox institutions the simulator offers: Basiq's test banks (reference/TOPICS/testing.md).

use crate::data::mix;

/// When an institution's refresh jobs stop at an MFA challenge (for a login that has one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mfa {
    Never,
    Always,
    /// Half the jobs, decided per job from the connection's seed and the job's order in it, so
    /// the same inputs always give the same jobs a challenge.
    Half,
}

impl Mfa {
    /// Whether the `order`-th job of a connection with data seed `seed` asks for MFA.
    pub fn asks(self, seed: u64, order: usize) -> bool {
        match self {
            Self::Never => false,
            Self::Always => true,
            Self::Half => mix(seed, &[b"mfa", &(order as u64).to_le_bytes()]).is_multiple_of(2),
        }
    }

    /// The connector's `authorization.type`, as Basiq's connector schema names them.
    pub fn authorization(self) -> &'static str {
        match self {
            Self::Never => "user",
            Self::Always => "user-mfa",
            Self::Half => "user-mfa-intermittent",
        }
    }
}

/// One sandbox institution (served as a connector and as an institution).
#[derive(Debug)]
pub struct Institution {
    pub id: &'static str,
    pub name: &'static str,
    pub short_name: &'static str,
    /// `web` or `openbanking`.
    pub method: &'static str,
    /// Connector status until told otherwise: `operational`, `degraded-performance`, …
    pub status: &'static str,
    pub tier: &'static str,
    /// Refresh jobs of an MFA login stop at `mfa-challenge`: Pied Piper always, Nucleus for
    /// half the jobs (the testing page's "MFA users"). The Consent UI answers MFA itself.
    pub mfa: Mfa,
}

impl Institution {
    pub fn is_open_banking(&self) -> bool {
        self.method == "openbanking"
    }
}

/// Basiq's testing page names Pied Piper Bank and Nucleus Bank but not their ids: `AU00002`
/// and `AU00003` are the simulator's.
pub static INSTITUTIONS: &[Institution] = &[
    Institution {
        id: "AU00000",
        name: "Hooli",
        short_name: "Hooli",
        method: "web",
        status: "operational",
        tier: "4",
        mfa: Mfa::Never,
    },
    Institution {
        id: "AU00001",
        name: "Hooli Open Banking",
        short_name: "Hooli OB",
        method: "openbanking",
        status: "operational",
        tier: "4",
        mfa: Mfa::Never,
    },
    Institution {
        id: "AU00002",
        name: "Pied Piper Bank",
        short_name: "Pied Piper",
        method: "web",
        status: "operational",
        tier: "4",
        mfa: Mfa::Always,
    },
    Institution {
        id: "AU00003",
        name: "Nucleus Bank",
        short_name: "Nucleus",
        method: "web",
        status: "operational",
        tier: "4",
        mfa: Mfa::Half,
    },
];

/// The statuses a connector reports (data.json's connector filter lists them).
pub const STATUSES: [&str; 5] = [
    "operational",
    "degraded-performance",
    "partial-outage",
    "major-outage",
    "under-maintenance",
];

pub fn find(id: &str) -> Option<&'static Institution> {
    INSTITUTIONS.iter().find(|i| i.id == id)
}

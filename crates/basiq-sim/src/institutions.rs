//! The sandbox institutions the simulator offers: Basiq's test banks (reference/TOPICS/testing.md).

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
    },
    Institution {
        id: "AU00001",
        name: "Hooli Open Banking",
        short_name: "Hooli OB",
        method: "openbanking",
        status: "operational",
        tier: "4",
    },
    Institution {
        id: "AU00002",
        name: "Pied Piper Bank",
        short_name: "Pied Piper",
        method: "web",
        status: "operational",
        tier: "4",
    },
    Institution {
        id: "AU00003",
        name: "Nucleus Bank",
        short_name: "Nucleus",
        method: "web",
        status: "operational",
        tier: "4",
    },
];

pub fn find(id: &str) -> Option<&'static Institution> {
    INSTITUTIONS.iter().find(|i| i.id == id)
}

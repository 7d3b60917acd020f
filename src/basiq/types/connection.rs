//! A Basiq connection read as ours.

use chrono::{DateTime, Utc};

use crate::domain::connections::{
    ConnectionView, InstitutionRef, Known, Names, attention, expiry_date,
};

use super::{Connection, normalise_method};

impl Connection {
    /// The connection as the API shows it, with what we know locally and the institutions'
    /// names.
    pub fn view(self, known: &Known, names: &Names, now: DateTime<Utc>) -> ConnectionView {
        let reason = attention(
            self.status.as_deref(),
            self.expiry_date.as_deref(),
            known,
            now,
        );
        let institution_id = self.institution.as_ref().map(|i| i.id.clone());
        let info = institution_id
            .as_ref()
            .and_then(|id| names.get(id).cloned())
            .unwrap_or_default();
        ConnectionView {
            institution: InstitutionRef {
                name: info.name,
                status: info.status,
                id: institution_id,
            },
            method: normalise_method(self.method.as_deref()),
            needs_attention: reason.is_some(),
            attention_reason: reason,
            id: self.id,
            status: self.status,
            created_at: self.created_date,
            last_used: self.last_used,
            expiry_date: expiry_date(self.expiry_date, known),
        }
    }
}

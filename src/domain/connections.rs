//! When a connection needs its user, and how the API shows a connection (in `GET
//! /v1/connections` and in `connection.updated` events).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::jobs::{self, UserAction};

/// A consent this close to expiry should be extended by the user.
pub const EXPIRY_WARNING_DAYS: i64 = 7;

/// A bank connection, and whether it needs the user.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    pub id: String,
    /// `active`, `pending`, `invalid` or `pre-init`; in a `connection.updated` event also
    /// `deleted`, once it is gone.
    pub status: Option<String>,
    /// `openbanking` or `web`.
    pub method: Option<String>,
    pub institution: InstitutionRef,
    /// RFC 3339, as Basiq gives it.
    pub created_at: Option<String>,
    pub last_used: Option<String>,
    /// When the consent behind the connection expires.
    pub expiry_date: Option<String>,
    pub needs_attention: bool,
    /// When `needsAttention`: `invalid` (reconnect through the Consent UI with this
    /// `connectionId`), `reenter_credentials`, `visit_bank`, `answer_mfa` or
    /// `choose_another_bank` (the last job needs the user, see its `error.userAction`), or
    /// `consent_expiring` (within 7 days, or Basiq warned that the consent expires: renew it
    /// with `POST /v1/consent` and `action: extend`). A bank that is down is not the user's to
    /// fix: `institution.status` says so.
    #[schema(value_type = Option<String>)]
    pub attention_reason: Option<&'static str>,
}

impl ConnectionView {
    /// A connection that is gone (`status: deleted`), for `connection.updated`.
    pub fn deleted(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            status: Some("deleted".to_owned()),
            method: None,
            institution: InstitutionRef {
                id: None,
                name: None,
                status: None,
            },
            created_at: None,
            last_used: None,
            expiry_date: None,
            needs_attention: false,
            attention_reason: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstitutionRef {
    pub id: Option<String>,
    pub name: Option<String>,
    /// The bank's status in Basiq's connectors list: `operational`, `degraded-performance`,
    /// `partial-outage`, `major-outage` (refreshing will fail: wait) or `under-maintenance`;
    /// `null` when unknown.
    pub status: Option<String>,
}

/// What we know locally about a connection: a webhook invalidated it, and its newest job's
/// error code.
#[derive(Debug, Default, Clone)]
pub struct Known {
    pub invalidated: bool,
    pub last_job_error: Option<String>,
    /// Basiq warned (`consent.warning`) that the user's consent expires soon, when if it said.
    pub consent_expiring: Option<Option<DateTime<Utc>>>,
}

/// What we know locally about each of a user's connections, and about the consent they all
/// hang off.
#[derive(Debug, Default)]
pub struct KnownAll {
    pub connections: HashMap<String, Known>,
    pub consent_expiring: Option<Option<DateTime<Utc>>>,
}

impl KnownAll {
    /// What we know about one connection (the consent warning applies to every one).
    pub fn take(&mut self, connection_id: &str) -> Known {
        let mut known = self.connections.remove(connection_id).unwrap_or_default();
        known.consent_expiring = self.consent_expiring;
        known
    }
}

/// Why a connection with Basiq's `status` and `expiry_date` needs its user, if it does.
pub fn attention(
    status: Option<&str>,
    expiry_date: Option<&str>,
    known: &Known,
    now: DateTime<Utc>,
) -> Option<&'static str> {
    if status == Some("invalid") || known.invalidated {
        return Some("invalid");
    }
    if let Some(code) = &known.last_job_error {
        match jobs::user_action(code) {
            action @ (UserAction::ReenterCredentials
            | UserAction::VisitBank
            | UserAction::AnswerMfa
            | UserAction::ChooseAnotherBank) => return Some(action.as_str()),
            UserAction::RetryLater | UserAction::Wait => {}
        }
    }
    if known.consent_expiring.is_some() {
        return Some("consent_expiring");
    }
    let expiring = expiry_date
        .and_then(parse_time)
        .is_some_and(|t| t - now < chrono::Duration::days(EXPIRY_WARNING_DAYS));
    expiring.then_some("consent_expiring")
}

/// The expiry date to show: the one Basiq's consent warning gave, when it gave one (the
/// consent ends then, whatever the connection said before), or else Basiq's on the connection.
pub fn expiry_date(basiq: Option<String>, known: &Known) -> Option<String> {
    known
        .consent_expiring
        .flatten()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .or(basiq)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d")
                .ok()?
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc())
        })
}

/// What the institutions cache knows of a bank.
#[derive(Debug, Clone, Default)]
pub struct InstitutionInfo {
    pub name: Option<String>,
    pub status: Option<String>,
}

/// Institutions by id (from the institutions cache).
pub type Names = HashMap<String, InstitutionInfo>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_or_soon_expiring_or_warned_connections_or_a_job_needing_the_user_need_attention() {
        let now = Utc::now();
        let none = Known::default();
        let soon = (now + chrono::Duration::days(3)).to_rfc3339();
        let later = (now + chrono::Duration::days(90)).to_rfc3339();
        assert_eq!(
            attention(Some("invalid"), None, &none, now),
            Some("invalid")
        );
        assert_eq!(
            attention(Some("active"), Some(&soon), &none, now),
            Some("consent_expiring")
        );
        assert_eq!(attention(Some("active"), Some(&later), &none, now), None);
        assert_eq!(attention(Some("active"), None, &none, now), None);
        let invalidated = Known {
            invalidated: true,
            ..Known::default()
        };
        let warned = Known {
            consent_expiring: Some(None),
            ..Known::default()
        };
        assert_eq!(
            attention(Some("active"), Some(&later), &warned, now),
            Some("consent_expiring")
        );
        assert_eq!(
            attention(Some("active"), None, &invalidated, now),
            Some("invalid")
        );
        for (code, reason) in [
            ("invalid-credentials", Some("reenter_credentials")),
            ("user-action-required", Some("visit_bank")),
            ("locked-account", Some("visit_bank")),
            ("mfa-challenge", Some("answer_mfa")),
            ("institution-disabled", Some("choose_another_bank")),
            ("maintenance", None),
            ("connector-error", None),
        ] {
            let known = Known {
                last_job_error: Some(code.into()),
                ..Known::default()
            };
            assert_eq!(
                attention(Some("active"), Some(&later), &known, now),
                reason,
                "{code}"
            );
        }
    }
}

//! `GET /v1/connections`: the caller's bank connections and whether they need the user.

use axum::{Json, Router, extract::State, routing::get};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    auth::AuthUser,
    basiq::types::{Connection, normalise_method},
    error::ApiResult,
    http::DataList,
    state::AppState,
};

/// A consent this close to expiry should be extended by the user.
const EXPIRY_WARNING_DAYS: i64 = 7;

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/connections", get(list))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    pub id: String,
    /// `active`, `pending`, `invalid` or `pre-init`.
    pub status: Option<String>,
    /// `openbanking` or `web`.
    pub method: Option<String>,
    pub institution: InstitutionRef,
    pub created_at: Option<String>,
    pub last_used: Option<String>,
    pub expiry_date: Option<String>,
    pub needs_attention: bool,
    /// `invalid` or `consent_expiring` when `needsAttention`.
    pub attention_reason: Option<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstitutionRef {
    pub id: Option<String>,
    pub name: Option<String>,
}

pub fn attention(c: &Connection, now: DateTime<Utc>) -> Option<&'static str> {
    if c.status.as_deref() == Some("invalid") {
        return Some("invalid");
    }
    let expiring = c
        .expiry_date
        .as_deref()
        .and_then(parse_time)
        .is_some_and(|t| t - now < chrono::Duration::days(EXPIRY_WARNING_DAYS));
    expiring.then_some("consent_expiring")
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

#[tracing::instrument(skip_all, fields(basiq_user_id))]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<DataList<ConnectionView>>> {
    let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? else {
        return Ok(Json(DataList::new(Vec::new())));
    };
    let connections = state.basiq.connections(&basiq_user_id).await?;
    let names = state.institutions.names().await;
    let now = Utc::now();
    let views = connections
        .into_iter()
        .map(|c| {
            let reason = attention(&c, now);
            let institution_id = c.institution.as_ref().map(|i| i.id.clone());
            ConnectionView {
                institution: InstitutionRef {
                    name: institution_id
                        .as_ref()
                        .and_then(|id| names.get(id).cloned()),
                    id: institution_id,
                },
                method: normalise_method(c.method.as_deref()),
                needs_attention: reason.is_some(),
                attention_reason: reason,
                id: c.id,
                status: c.status,
                created_at: c.created_date,
                last_used: c.last_used,
                expiry_date: c.expiry_date,
            }
        })
        .collect();
    Ok(Json(DataList::new(views)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(status: &str, expiry: Option<String>) -> Connection {
        serde_json::from_value(serde_json::json!({
            "id": "c", "status": status, "expiryDate": expiry
        }))
        .unwrap()
    }

    #[test]
    fn invalid_or_soon_expiring_connections_need_attention() {
        let now = Utc::now();
        let soon = (now + chrono::Duration::days(3)).to_rfc3339();
        let later = (now + chrono::Duration::days(90)).to_rfc3339();
        assert_eq!(attention(&conn("invalid", None), now), Some("invalid"));
        assert_eq!(
            attention(&conn("active", Some(soon)), now),
            Some("consent_expiring")
        );
        assert_eq!(attention(&conn("active", Some(later)), now), None);
        assert_eq!(attention(&conn("active", None), now), None);
    }
}

//! `GET /v1/institutions`: Basiq's connectors, from the cache `institutions.rs` keeps fresh.

use axum::{
    Json,
    extract::{RawQuery, State},
};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::AuthUser,
    basiq::types::{Connector, normalise_method},
    error::{ApiError, ApiResult},
    http::{DataList, extract::query_params, responses},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    // It reads and checks its query itself.
    OpenApiRouter::new().routes(routes!(list))
}

/// A bank, through one of Basiq's connectors (a bank may have an open-banking and a web one).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstitutionView {
    /// The id to pass as `institutionId` to `POST /v1/consent`.
    pub id: String,
    pub name: Option<String>,
    pub short_name: Option<String>,
    /// `openbanking` or `web`.
    pub method: Option<String>,
    /// `operational`, `degraded-performance`, `partial-outage`, `major-outage` or `under-maintenance`.
    pub status: Option<String>,
    /// e.g. `live`, `beta`.
    pub stage: Option<String>,
    pub tier: Option<String>,
    /// e.g. `Bank`, `Credit Union`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub country: Option<String>,
    pub logo_url: Option<String>,
}

impl From<&Connector> for InstitutionView {
    fn from(c: &Connector) -> Self {
        let inst = c.institution.as_ref();
        let logo_url = inst
            .as_ref()
            .and_then(|i| i.logo.as_ref())
            .and_then(|logo| {
                let links = logo.get("links")?;
                ["square", "full"]
                    .iter()
                    .find_map(|k| links.get(k)?.as_str().map(str::to_owned))
            });
        Self {
            id: c.id.clone(),
            method: normalise_method(c.method.as_deref()),
            status: c.status.clone(),
            stage: c.stage.clone(),
            name: inst.and_then(|i| i.name.clone()),
            short_name: inst.and_then(|i| i.short_name.clone()),
            tier: inst.and_then(|i| i.tier.clone()),
            kind: inst.and_then(|i| i.kind.clone()),
            country: inst.and_then(|i| i.country.clone()),
            logo_url,
        }
    }
}

/// The query of `GET /v1/institutions`, as documented; `list` reads it by hand, like
/// `GET /v1/transactions`, to refuse unknown or repeated parameters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InstitutionQuery {
    /// Only connectors of this method (case, `-` and `_` are ignored).
    #[param(inline)]
    pub method: Option<Method>,
    /// Only institutions whose name or short name contains this, ignoring case.
    #[param(min_length = 1, max_length = 100, pattern = r"\S")]
    pub q: Option<String>,
}

/// How Basiq connects to the bank: CDR open banking, or the bank's website.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Openbanking,
    Web,
}

/// Banks to connect to.
///
/// Basiq's connectors, cached for an hour and served stale while refreshing.
#[utoipa::path(
    get,
    operation_id = "listInstitutions",
    path = "/v1/institutions",
    tag = "institutions",
    security(("appJwt" = [])),
    params(InstitutionQuery),
    responses(
        (status = 200, description = "The institutions.", body = DataList<InstitutionView>),
        (status = 400, response = responses::BadRequest),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<DataList<InstitutionView>>> {
    let params = query_params(raw.as_deref(), &["method", "q"])?;
    let method = match params.get("method").map(String::as_str) {
        None => None,
        Some(m) => Some(
            normalise_method(Some(m))
                .filter(|m| m == "openbanking" || m == "web")
                .ok_or_else(|| ApiError::validation("method", "must be openbanking or web"))?,
        ),
    };
    let needle = match params.get("q") {
        Some(q) if q.trim().is_empty() || q.chars().count() > 100 => {
            return Err(ApiError::validation("q", "must be 1-100 characters"));
        }
        q => q.map(|q| q.trim().to_lowercase()),
    };
    let list = state.institutions.get().await?;
    let data = list
        .iter()
        .map(InstitutionView::from)
        .filter(|i| method.is_none() || i.method == method)
        .filter(|i| {
            needle.as_ref().is_none_or(|n| {
                [&i.name, &i.short_name]
                    .iter()
                    .any(|s| s.as_ref().is_some_and(|s| s.to_lowercase().contains(n)))
            })
        })
        .collect();
    Ok(Json(DataList::new(data)))
}

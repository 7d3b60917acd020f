//! `GET /v1/consents`, `DELETE /v1/consents/{id}`: the caller's consents at Basiq, and
//! withdrawing one.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
    middleware,
};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::AuthUser,
    basiq::types::{Consent, ConsentPermission, PurposeText},
    erasure::{consent_end_erases, consent_ended},
    error::{ApiError, ApiResult},
    events::ConsentChange,
    http::{
        DataList,
        extract::{check_id, no_query_params},
        responses,
    },
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(revoke))
        .route_layer(middleware::from_fn(no_query_params))
}

/// A consent the user gave at Basiq's Consent UI: for how long, why, and to what data.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsentView {
    pub id: Option<String>,
    /// `active`, `revoked` or `expired`.
    pub status: Option<String>,
    /// RFC 3339, as Basiq gives it.
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    /// When the consent lapses; renew before then with `POST /v1/consent` and `action: extend`.
    pub expiry_date: Option<String>,
    /// When the user withdrew it, if they did.
    pub revoked_at: Option<String>,
    /// Why the data is collected.
    pub purpose: Option<Purpose>,
    /// Whether the data may be kept after the consent ends.
    pub retain_data: Option<bool>,
    /// How many days of history were fetched at first.
    pub initial_retrieval_days: Option<i64>,
    /// The data clusters and permissions consented to.
    pub permissions: Vec<Permission>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Purpose {
    pub title: Option<String>,
    pub description: Option<String>,
}

/// One data cluster the consent covers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    /// Basiq's scope, e.g. `account.basic`, `transaction.detail`.
    pub scope: Option<String>,
    /// `account`, `transaction`, `connection`…
    pub entity: Option<String>,
    /// The cluster's name as shown to the user, e.g. "Account name, type and balance".
    pub name: Option<String>,
    pub description: Option<String>,
    /// What the cluster holds, as shown to the user.
    pub attributes: Vec<String>,
    pub required: Option<bool>,
    pub consented: Option<bool>,
    /// Why this cluster is collected.
    pub purpose: Option<Purpose>,
}

impl From<PurposeText> for Purpose {
    fn from(p: PurposeText) -> Self {
        Self {
            title: p.title,
            description: p.description,
        }
    }
}

impl From<ConsentPermission> for Permission {
    fn from(p: ConsentPermission) -> Self {
        let (name, description, attributes) = match p.information {
            Some(i) => (i.name, i.description, i.attribute_list),
            None => (None, None, Vec::new()),
        };
        Self {
            scope: p.scope,
            entity: p.entity,
            name,
            description,
            attributes,
            required: p.required,
            consented: p.consented,
            purpose: p.purpose.map(Purpose::from),
        }
    }
}

impl From<Consent> for ConsentView {
    fn from(c: Consent) -> Self {
        let (retain_data, initial_retrieval_days, permissions) = match c.data {
            Some(d) => (
                d.retain_data,
                d.initial_retrieval_days,
                d.permissions.into_iter().map(Permission::from).collect(),
            ),
            None => (None, None, Vec::new()),
        };
        Self {
            id: c.id,
            status: c.status,
            created_at: c.created,
            updated_at: c.updated,
            expiry_date: c.expiry_date,
            revoked_at: c.revoked,
            purpose: c.purpose.and_then(|p| p.primary).map(Purpose::from),
            retain_data,
            initial_retrieval_days,
            permissions,
        }
    }
}

/// The caller's consents.
///
/// Every consent the user gave at Basiq, oldest first, whatever its status. A user who never
/// consented has none.
#[utoipa::path(
    get,
    operation_id = "listConsents",
    path = "/v1/consents",
    tag = "consent",
    security(("appJwt" = [])),
    responses(
        (status = 200, description = "The caller's consents.", body = DataList<ConsentView>),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id))]
async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<DataList<ConsentView>>> {
    let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? else {
        return Ok(Json(DataList::new(Vec::new())));
    };
    tracing::Span::current().record("basiq_user_id", basiq_user_id.as_str());
    let consents = state.basiq.consents(&basiq_user_id).await?;
    Ok(Json(DataList::new(
        consents.into_iter().map(ConsentView::from).collect(),
    )))
}

/// Revokes one of the caller's consents.
///
/// Withdraws it at Basiq, then erases what is stored for the user (jobs, refresh counts,
/// connection states, contact details), as Basiq's `consent.revoked` requires; the link to the
/// Basiq user stays. Safe to repeat. If Basiq fails, nothing is erased.
#[utoipa::path(
    delete,
    operation_id = "revokeConsent",
    path = "/v1/consents/{consentId}",
    tag = "consent",
    security(("appJwt" = [])),
    params(("consentId" = String, Path, description = "A consent id from `GET /v1/consents`.", pattern = r"^[A-Za-z0-9_-]{1,64}$")),
    responses(
        (status = 204, description = "The consent is revoked and the user's stored data erased."),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id, consent_id = %consent_id))]
async fn revoke(
    State(state): State<AppState>,
    user: AuthUser,
    Path(consent_id): Path<String>,
) -> ApiResult<StatusCode> {
    check_id("consentId", &consent_id)?;
    let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? else {
        return Err(ApiError::NotFound);
    };
    tracing::Span::current().record("basiq_user_id", basiq_user_id.as_str());
    // As a `consent.revoked` webhook would: the data goes unless another consent is active.
    // Read first: if Basiq cannot say, nothing is revoked either.
    let consents = state.basiq.consents(&basiq_user_id).await?;
    let erase = consent_end_erases(&consents, Some(&consent_id), true);
    // The path names the user: another user's consent is Basiq's 404, and ours.
    state
        .basiq
        .revoke_consent(&basiq_user_id, &consent_id)
        .await
        .map_err(ApiError::not_found_if_missing)?;
    let mut tx = state.pool.begin().await?;
    consent_ended(
        &mut tx,
        &state.events,
        &user.sub,
        Some(&consent_id),
        ConsentChange::Revoked,
        erase,
    )
    .await?;
    tx.commit().await?;
    state.changed(&user.sub);
    tracing::info!(erased = erase, "consent revoked");
    Ok(StatusCode::NO_CONTENT)
}

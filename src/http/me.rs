//! `/v1/me`: the app user's link to Basiq, their contact details, and erasure.

use axum::{Json, extract::State, http::StatusCode, middleware};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::AuthUser,
    db,
    domain::contact,
    erasure::Eraser,
    error::{ApiError, ApiResult},
    http::{
        extract::{JsonBody, no_query_params},
        responses,
    },
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me, update, erase))
        .route_layer(middleware::from_fn(no_query_params))
}

/// The app user's link to Basiq.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    /// The JWT's `sub`.
    pub user_id: String,
    /// `null` until the first consent creates the Basiq user.
    pub basiq_user_id: Option<String>,
    /// `null` when Basiq could not say (see `unknown`).
    pub connection_count: Option<usize>,
    /// The newest consent, if any: whether the user must consent again. `null` also when
    /// Basiq could not say (see `unknown`).
    pub consent: Option<ConsentSummary>,
    /// The parts Basiq could not answer just now, so shown as `null`: `connections`
    /// (`connectionCount`), `consent`. Empty when everything is known.
    #[schema(value_type = Vec<String>)]
    pub unknown: Vec<&'static str>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsentSummary {
    pub id: Option<String>,
    /// `active`, `revoked` or `expired`.
    pub status: String,
    pub created_at: Option<String>,
    pub expires_at: Option<String>,
}

/// The app user's link to Basiq.
#[utoipa::path(
    get,
    operation_id = "getMe",
    path = "/v1/me",
    tag = "me",
    security(("appJwt" = [])),
    responses(
        (status = 200, description = "The caller's link to Basiq.", body = Me),
        (status = 404, response = responses::NotFound),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id))]
async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Me>> {
    let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? else {
        return Ok(Json(Me {
            user_id: user.sub,
            basiq_user_id: None,
            connection_count: Some(0),
            consent: None,
            unknown: Vec::new(),
        }));
    };
    let (connections, consents) = tokio::join!(
        state.basiq.connections(&basiq_user_id),
        state.basiq.consents(&basiq_user_id)
    );
    // What Basiq cannot say now is marked unknown: the app still learns who the user is.
    let mut unknown = Vec::new();
    let connection_count = match connections {
        Ok(c) => Some(c.len()),
        Err(e) => {
            tracing::warn!(error = %e, "connections unknown for /v1/me");
            unknown.push("connections");
            None
        }
    };
    // The newest consent tells the app whether the user must consent again.
    let consent = match consents {
        Ok(list) => list
            .into_iter()
            .max_by(|a, b| a.created.cmp(&b.created))
            .map(|c| ConsentSummary {
                id: c.id,
                status: c.status.unwrap_or_else(|| "active".into()),
                created_at: c.created,
                expires_at: c.expiry_date,
            }),
        Err(e) => {
            tracing::warn!(error = %e, "consent unknown for /v1/me");
            unknown.push("consent");
            None
        }
    };
    Ok(Json(Me {
        user_id: user.sub,
        basiq_user_id: Some(basiq_user_id),
        connection_count,
        consent,
        unknown,
    }))
}

/// New contact details for the caller.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"mobile": "+61400000000"}))]
pub struct ContactUpdate {
    /// Where the Consent UI sends its one-time codes by email.
    pub email: Option<String>,
    /// International format (E.164), e.g. `+61400000000`.
    pub mobile: Option<String>,
}

/// Updates the caller's contact details.
///
/// The Basiq user's email and/or mobile (the Consent UI sends its one-time codes there), then
/// our sealed copy. Before the first consent creates the Basiq user, they are kept and used to
/// create it.
#[utoipa::path(
    patch,
    operation_id = "updateMe",
    path = "/v1/me",
    tag = "me",
    security(("appJwt" = [])),
    request_body = ContactUpdate,
    responses(
        (status = 204, description = "The contact details are updated."),
        (status = 400, response = responses::BadRequest),
        (status = 415, response = responses::UnsupportedMediaType),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id))]
async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    JsonBody(body): JsonBody<ContactUpdate>,
) -> ApiResult<StatusCode> {
    let email = contact::email(body.email)?;
    let mobile = contact::mobile(body.mobile)?;
    if email.is_none() && mobile.is_none() {
        return Err(ApiError::validation(
            "email",
            "give an email, a mobile or both",
        ));
    }
    if let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? {
        tracing::Span::current().record("basiq_user_id", basiq_user_id.as_str());
        state
            .basiq
            .update_user(&basiq_user_id, email.as_deref(), mobile.as_deref())
            .await?;
    }
    let seal = |value: &Option<String>, column| {
        value.as_ref().map(|v| {
            state
                .sealer
                .seal(v.as_bytes(), &db::users::sealed_column(&user.sub, column))
        })
    };
    let sealed = db::users::SealedContact {
        email_sealed: seal(&email, "email"),
        mobile_sealed: seal(&mobile, "mobile"),
    };
    db::users::set_contact(&state.pool, &user.sub, &sealed).await?;
    tracing::info!("contact details updated");
    Ok(StatusCode::NO_CONTENT)
}

/// Erases the caller.
///
/// Deletes the Basiq user (its connections and data go with it), then every local row of the
/// app user. Safe to repeat: a user already gone answers 204 again.
#[utoipa::path(
    delete,
    operation_id = "deleteMe",
    path = "/v1/me",
    tag = "me",
    security(("appJwt" = [])),
    responses(
        (status = 204, description = "The Basiq user and everything stored about the caller are gone."),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id))]
async fn erase(State(state): State<AppState>, user: AuthUser) -> ApiResult<StatusCode> {
    let basiq_user_id = state.basiq_user_id(&user.sub).await?;
    Eraser {
        pool: &state.pool,
        basiq: &state.basiq,
        remembered: &state.remembered,
        events: &state.events,
    }
    .erase(&user.sub, basiq_user_id.as_deref())
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

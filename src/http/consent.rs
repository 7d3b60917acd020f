//! The consent round trip: `POST /v1/consent` sends the browser to Basiq's Consent UI with a
//! signed, single-use `state`; `GET /v1/consent/callback` verifies it and sends the browser back.

use axum::{
    Json,
    extract::{RawQuery, State},
    http::{StatusCode, header},
    middleware,
    response::{Html, IntoResponse, Response},
};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    auth::AuthUser,
    db,
    domain::{
        consent_state, contact,
        return_url::{allowed_return_url, carries_callback_params, with_callback_params},
    },
    error::{ApiError, ApiResult},
    http::{
        extract::{JsonBody, check_id, no_query_params},
        responses,
    },
    state::AppState,
};

/// A consent link is good for at most this long (and never longer than its client token).
const STATE_TTL_SECS: i64 = 30 * 60;
const ACTIONS: &[&str] = &["connect", "manage", "extend", "update", "reauthorise"];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start))
        .route_layer(middleware::from_fn(no_query_params))
        // Registered after the layer: Basiq's Consent UI may add parameters of its own.
        .routes(routes!(callback))
}

/// Where to send the browser back, and what to do in the Consent UI.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"returnTo": "https://app.example.com/banks", "institutionId": "AU00000"}))]
pub struct ConsentRequest {
    /// Where the browser lands afterwards, with `jobIds` (or `error`) appended: must start
    /// with an entry of `ALLOWED_RETURN_URLS`, at a `/`, `?` or `#` boundary.
    #[schema(max_length = 2048)]
    pub return_to: String,
    /// The Consent UI's action; `connect` when absent.
    #[schema(value_type = Option<ConsentAction>, inline)]
    pub action: Option<String>,
    /// Open the Consent UI on this institution.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub institution_id: Option<String>,
    /// Re-authorise this connection of the caller's.
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    pub connection_id: Option<String>,
    /// For creating the Basiq user; defaults to the JWT's `email` claim. The Basiq user needs
    /// an email or a mobile.
    pub email: Option<String>,
    /// International format, e.g. `+61400000000`; defaults to the JWT's `phone_number` claim.
    pub mobile: Option<String>,
}

/// What the Consent UI does.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConsentAction {
    Connect,
    Manage,
    Extend,
    Update,
    Reauthorise,
}

/// Where to send the browser.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConsentResponse {
    /// Basiq's Consent UI with a short-lived token bound to the caller's Basiq user and a
    /// signed, single-use `state`. Open it in a browser or web view.
    pub consent_url: String,
    /// When the link stops working (at most 30 minutes from now).
    pub expires_at: DateTime<Utc>,
}

/// Starts the consent round trip.
///
/// Creates the caller's Basiq user on first need and answers the Consent UI link to open.
#[utoipa::path(
    post,
    operation_id = "startConsent",
    path = "/v1/consent",
    tag = "consent",
    security(("appJwt" = [])),
    request_body = ConsentRequest,
    responses(
        (status = 200, description = "The Consent UI link.", body = ConsentResponse),
        (status = 400, response = responses::BadRequest),
        (status = 404, response = responses::NotFound),
        (status = 409, response = responses::Conflict),
        (status = 415, response = responses::UnsupportedMediaType),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id))]
async fn start(
    State(state): State<AppState>,
    user: AuthUser,
    JsonBody(body): JsonBody<ConsentRequest>,
) -> ApiResult<Json<ConsentResponse>> {
    let consent = &state.consent;
    if consent.allowed_return_urls.is_empty() {
        return Err(ApiError::NotConfigured(
            "ALLOWED_RETURN_URLS is empty, so no return URL can be accepted",
        ));
    }
    let return_to = allowed_return_url(&body.return_to, &consent.allowed_return_urls)
        .ok_or_else(|| ApiError::validation("returnTo", "is not in the allowed return URLs"))?;
    if carries_callback_params(&return_to) {
        return Err(ApiError::validation(
            "returnTo",
            "must not carry jobIds, jobId or error: the callback appends them",
        ));
    }
    if let Some(action) = &body.action
        && !ACTIONS.contains(&action.as_str())
    {
        return Err(ApiError::validation(
            "action",
            format!("must be one of {}", ACTIONS.join(", ")),
        ));
    }
    if let Some(id) = &body.institution_id {
        check_id("institutionId", id)?;
    }
    if let Some(id) = &body.connection_id {
        check_id("connectionId", id)?;
    }
    // What `PATCH /v1/me` kept before the Basiq user existed comes before the JWT's claims.
    let stored = stored_contact(&state, &user.sub).await?;
    let email = contact::email(body.email.or(stored.0).or(user.email.clone()))?;
    let mobile = contact::mobile(body.mobile.or(stored.1).or(user.phone_number.clone()))?;

    let basiq_user_id = db::users::ensure_basiq_user(&state.pool, &user.sub, || async {
        if email.is_none() && mobile.is_none() {
            return Err(ApiError::validation(
                "email",
                "an email or mobile is needed to create the Basiq user (in the body or the JWT's email / phone_number claims)",
            ));
        }
        let created = state
            .basiq
            .create_user(email.as_deref(), mobile.as_deref())
            .await?;
        let seal = |value: &Option<String>, column| {
            value.as_ref().map(|v| {
                state
                    .sealer
                    .seal(v.as_bytes(), &db::users::sealed_column(&user.sub, column))
            })
        };
        Ok(db::users::CreatedUser {
            basiq_user_id: created.id,
            email_sealed: seal(&email, "email"),
            mobile_sealed: seal(&mobile, "mobile"),
        })
    })
    .await?;
    tracing::Span::current().record("basiq_user_id", basiq_user_id.as_str());

    if let Some(connection_id) = &body.connection_id {
        // Re-authorising someone else's connection is "not found", like any foreign id.
        state
            .basiq
            .connection(&basiq_user_id, connection_id)
            .await
            .map_err(ApiError::not_found_if_missing)?;
    }

    state.limits.check_consent(&user.sub)?;
    let token = state.basiq.client_token(&basiq_user_id).await?;
    let ttl = ChronoDuration::seconds(STATE_TTL_SECS)
        .min(ChronoDuration::from_std(token.expires_in).unwrap_or_default());
    let expires_at = Utc::now() + ttl;
    let state_value = issue_state(&state, &user.sub, return_to.as_str(), expires_at).await?;

    let mut url = consent.consent_url.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("token", token.token.expose_secret());
        q.append_pair("state", &state_value);
        for (name, value) in [
            ("action", &body.action),
            ("institutionId", &body.institution_id),
            ("connectionId", &body.connection_id),
        ] {
            if let Some(v) = value {
                q.append_pair(name, v);
            }
        }
    }
    Ok(Json(ConsentResponse {
        consent_url: url.into(),
        expires_at,
    }))
}

/// The email and mobile stored for the user, opened.
async fn stored_contact(
    state: &AppState,
    app_user_id: &str,
) -> ApiResult<(Option<String>, Option<String>)> {
    let sealed = db::users::sealed_contact(&state.pool, app_user_id).await?;
    let open = |value: Option<Vec<u8>>, column| -> ApiResult<Option<String>> {
        let Some(v) = value else { return Ok(None) };
        let plain = state
            .sealer
            .open(&v, &db::users::sealed_column(app_user_id, column))
            .map_err(|e| anyhow::anyhow!("a sealed {column} does not open: {e:?}"))?;
        Ok(Some(String::from_utf8(plain).map_err(|e| {
            anyhow::anyhow!("a sealed {column} is not text: {e}")
        })?))
    };
    Ok((
        open(sealed.email_sealed, "email")?,
        open(sealed.mobile_sealed, "mobile")?,
    ))
}

/// A new consent `state` for the user and `returnTo`, stored (its nonce's hash) so it can be
/// redeemed once.
async fn issue_state(
    state: &AppState,
    app_user_id: &str,
    return_to: &str,
    expires_at: DateTime<Utc>,
) -> ApiResult<String> {
    let issued = consent_state::issue(&state.state_key, app_user_id, return_to, expires_at);
    let stored = db::consent_states::insert(
        &state.pool,
        &issued.nonce_hash,
        app_user_id,
        return_to,
        expires_at,
    )
    .await?;
    if stored == db::consent_states::Inserted::UserErased {
        // DELETE /v1/me ran while this request did.
        return Err(ApiError::Conflict {
            code: "user_erased",
            detail: "The user was erased while this request ran; start again.".into(),
        });
    }
    Ok(issued.value)
}

/// Why a callback was refused; the page never says more than that the link is not valid.
#[derive(Debug)]
enum BadState {
    Malformed,
    Unknown,
    Expired,
    Forged,
    Replayed,
}

async fn redeem_state(state: &AppState, raw: &str) -> ApiResult<Result<(String, Url), BadState>> {
    let Some(presented) = consent_state::parse(raw) else {
        return Ok(Err(BadState::Malformed));
    };
    let nonce_hash = presented.nonce_hash();
    let Some(pending) = db::consent_states::find(&state.pool, &nonce_hash).await? else {
        return Ok(Err(BadState::Unknown));
    };
    if !presented.is_authentic(&state.state_key, &pending.app_user_id, &pending.return_to) {
        return Ok(Err(BadState::Forged));
    }
    if pending.used {
        return Ok(Err(BadState::Replayed));
    }
    if presented.is_expired(Utc::now()) {
        return Ok(Err(BadState::Expired));
    }
    if !db::consent_states::consume(&state.pool, &nonce_hash).await? {
        return Ok(Err(BadState::Replayed));
    }
    let return_to = Url::parse(&pending.return_to)
        .map_err(|e| anyhow::anyhow!("stored returnTo is not a URL: {e}"))?;
    Ok(Ok((pending.app_user_id, return_to)))
}

fn bad_state_page() -> Response {
    let html = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Link not valid</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto; padding: 0 1rem">
<h1>This link is no longer valid</h1>
<p>It has expired or has already been used. Go back to the app and start connecting your bank again.</p>
</body></html>"#;
    (
        StatusCode::BAD_REQUEST,
        [(header::CACHE_CONTROL, "no-store")],
        Html(html),
    )
        .into_response()
}

fn redirect(to: Url, params: &[(&str, &str)]) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::LOCATION,
                with_callback_params(to, params).to_string(),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

/// Where Basiq's Consent UI sends the browser back.
///
/// Verifies `state` (signed, bound to the app user and `returnTo`, expiring, single use), keeps
/// only the jobs that are the user's, and redirects to `returnTo`. Needs no bearer token: the
/// browser comes from Basiq.
#[utoipa::path(
    get,
    operation_id = "consentCallback",
    path = "/v1/consent/callback",
    tag = "consent",
    params(
        ("state" = String, Query, description = "The `state` of the Consent UI link, as Basiq returns it."),
        ("jobIds" = Option<String>, Query, description = "Comma-separated job ids of the new or updated connections."),
        ("jobId" = Option<String>, Query, description = "A single job id (older Consent UI)."),
    ),
    responses(
        (status = 303, description = "Back to `returnTo` with `jobIds=a,b` of the user's verified jobs, or with `error=no_connection`, `invalid_job` or `temporarily_unavailable`.",
            headers(("Location" = String, description = "`returnTo` with `jobIds` or `error` appended"))),
        (status = 400, description = "A missing, malformed, forged, expired or replayed `state`: a page saying the link is not valid, and no redirect.",
            content_type = "text/html", body = String),
        (status = 500, response = responses::InternalError),
    )
)]
#[tracing::instrument(skip_all, fields(user_id, basiq_user_id))]
async fn callback(State(state): State<AppState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let params = form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes());
    let mut state_param = None;
    let mut job_ids: Vec<String> = Vec::new();
    for (k, v) in params {
        match k.as_ref() {
            "state" if state_param.is_none() => state_param = Some(v.into_owned()),
            "state" => return Ok(bad_state_page()),
            "jobIds" | "jobId" => job_ids.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            ),
            // Basiq may add parameters of its own; they are not ours to act on.
            _ => {}
        }
    }
    let Some(raw_state) = state_param else {
        return Ok(bad_state_page());
    };
    let (app_user_id, return_to) = match redeem_state(&state, &raw_state).await? {
        Ok(ok) => ok,
        Err(why) => {
            tracing::warn!(reason = ?why, "consent callback refused");
            return Ok(bad_state_page());
        }
    };
    tracing::Span::current().record("user_id", app_user_id.as_str());
    job_ids.sort();
    job_ids.dedup();
    if job_ids.is_empty() {
        return Ok(redirect(return_to, &[("error", "no_connection")]));
    }
    if job_ids.len() > 20 || job_ids.iter().any(|id| check_id("jobIds", id).is_err()) {
        return Ok(redirect(return_to, &[("error", "invalid_job")]));
    }
    let Some(basiq_user_id) = state.basiq_user_id(&app_user_id).await? else {
        return Ok(redirect(return_to, &[("error", "invalid_job")]));
    };
    // Job ids arrive from the browser: each must be proven to be this user's before we keep it.
    let user_jobs = match state.basiq.user_jobs(&basiq_user_id).await {
        Ok(jobs) => jobs,
        Err(e) => {
            tracing::error!(error = %e, "could not verify the returned jobs");
            return Ok(redirect(return_to, &[("error", "temporarily_unavailable")]));
        }
    };
    let mut verified = Vec::new();
    for id in &job_ids {
        let found = user_jobs.iter().find(|j| &j.id == id);
        match found {
            Some(job) => {
                let view = state.job_view(job);
                state
                    .events
                    .job_seen(&app_user_id, "consent", &view)
                    .await?;
                tracing::info!(job_id = %job.id, connection_id = ?view.connection_id, "consent job recorded");
                verified.push(id.as_str());
            }
            None => {
                tracing::warn!(job_id = %id, "a returned job does not belong to this user; ignored")
            }
        }
    }
    if verified.is_empty() {
        return Ok(redirect(return_to, &[("error", "invalid_job")]));
    }
    Ok(redirect(return_to, &[("jobIds", &verified.join(","))]))
}

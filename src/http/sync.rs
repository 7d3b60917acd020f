//! `GET /v1/transactions/sync`: what changed in the caller's transactions since their cursor,
//! answered from the sync store (`sync.rs`) without calling Basiq, except on a first sync,
//! which fills the store.

use std::collections::{HashMap, HashSet};

use axum::{
    Json,
    extract::{RawQuery, State},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    auth::AuthUser,
    db,
    domain::sync::SyncCursor,
    error::{ApiError, ApiResult},
    http::{
        extract::{limit, query_params},
        json::json,
        responses,
    },
    state::AppState,
    sync::{SyncError, Why, change_ad},
    views::transactions::TransactionView,
};

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: u32 = 500;
const PARAMS: &[&str] = &["cursor", "limit"];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sync))
}

/// What changed in the caller's transactions since `cursor`. Apply `removed`, then `added`
/// and `modified` (both by `id`: add or replace), then keep `nextCursor` for next time. A
/// pending transaction that posted is in `removed` once, and its posted copy (a new id) in
/// `added` once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncPage {
    /// Transactions new since the cursor (without one: every transaction), as
    /// `GET /v1/transactions` shows them.
    #[schema(value_type = Vec<TransactionView>)]
    pub added: Vec<Box<RawValue>>,
    /// Transactions that changed since the cursor: replace your copy.
    #[schema(value_type = Vec<TransactionView>)]
    pub modified: Vec<Box<RawValue>>,
    /// Ids of transactions gone since the cursor: gone from Basiq, pending ones whose posted
    /// copy arrived, or a deleted connection's (the page after a deletion may carry more of
    /// these than `limit`).
    pub removed: Vec<String>,
    /// Pass as `cursor` next time. Opaque; only for the user it was issued to.
    pub next_cursor: String,
    /// More changes wait: call again with `nextCursor` now.
    pub has_more: bool,
}

/// The query of `GET /v1/transactions/sync`.
#[derive(Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct SyncQuery {
    /// `nextCursor` of the previous sync; none for everything.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
    /// Changes per page.
    #[param(minimum = 1, maximum = 500, default = 100)]
    pub limit: Option<u32>,
}

impl SyncQuery {
    pub fn parse(raw: Option<&str>) -> ApiResult<Self> {
        let mut params = query_params(raw, PARAMS)?;
        let limit = params
            .remove("limit")
            .map(|v| limit(&v, MAX_LIMIT))
            .transpose()?;
        let cursor = params.remove("cursor");
        if cursor.as_ref().is_some_and(|c| c.len() > 512) {
            return Err(ApiError::CursorExpired);
        }
        Ok(Self { cursor, limit })
    }
}

fn sync_error(e: SyncError) -> ApiError {
    match e {
        SyncError::Basiq(e) => e.into(),
        SyncError::Database(e) => e.into(),
        SyncError::Stopped(e) => ApiError::Internal(anyhow::anyhow!(e)),
    }
}

/// What changed in the caller's transactions since a cursor.
///
/// Without a cursor, every transaction is `added`. Answered from the BFF's copy of what Basiq
/// last gave (refreshed when a job succeeds or Basiq's webhooks say the data changed, then
/// announced by a `data.updated` event), so a sync costs Basiq nothing; only a user's first
/// sync reads Basiq. A cursor that no longer applies (the copy was erased, or the cursor is
/// too old or not the caller's) is a 400 `cursor_expired`: sync again without one and replace
/// your copy.
#[utoipa::path(
    get,
    operation_id = "syncTransactions",
    path = "/v1/transactions/sync",
    tag = "transactions",
    security(("appJwt" = [])),
    params(SyncQuery),
    responses(
        (status = 200, description = "The changes since the cursor.", body = SyncPage),
        (status = 400, response = responses::BadRequest),
        (status = 409, response = responses::Conflict),
        responses::CommonErrors,
    )
)]
#[tracing::instrument(skip_all, fields(basiq_user_id))]
async fn sync(
    State(state): State<AppState>,
    user: AuthUser,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = SyncQuery::parse(raw.as_deref())?;
    let limit = query.limit.map_or(DEFAULT_LIMIT, |l| l as usize);
    let cursor = query
        .cursor
        .as_deref()
        .map(|c| SyncCursor::decode(&state.cursor_key, &user.sub, c).ok_or(ApiError::CursorExpired))
        .transpose()?;
    let start = SyncCursor {
        epoch: Uuid::nil(),
        seq: 0,
        version: 0,
    };
    let Some(basiq_user_id) = state.basiq_user_id(&user.sub).await? else {
        // A cursor into a copy that is gone (the user was erased): the client must drop its
        // copy too.
        if cursor.as_ref().is_some_and(|c| *c != start) {
            return Err(ApiError::CursorExpired);
        }
        // Nothing yet; the cursor at the start stays valid once there is.
        return Ok(Json(SyncPage {
            added: Vec::new(),
            modified: Vec::new(),
            removed: Vec::new(),
            next_cursor: start.encode(&state.cursor_key, &user.sub),
            has_more: false,
        })
        .into_response());
    };
    let mut store = db::sync::state(&state.pool, &user.sub).await?;
    // A cursor of a copy that is gone expires before anything is read for a new one.
    if store.is_none() && cursor.as_ref().is_some_and(|c| *c != start) {
        return Err(ApiError::CursorExpired);
    }
    if store.as_ref().is_none_or(|s| s.fetched_at.is_none()) {
        state
            .sync
            .refresh(&user.sub, &basiq_user_id, Why::FirstSync)
            .await
            .map_err(sync_error)?;
        store = db::sync::state(&state.pool, &user.sub).await?;
    }
    // Erased while its first refresh read Basiq (the consent was withdrawn meanwhile).
    let store = store.ok_or_else(|| ApiError::Conflict {
        code: "user_erased",
        detail: "The user's data was erased while this sync ran; sync again.".into(),
    })?;
    // Without a cursor, a client receives nothing the log has erased: it is at the store's
    // version.
    let (after, version) = match cursor {
        None => (0, store.version),
        Some(c) if c.seq == 0 => (0, store.version),
        Some(c) => {
            if c.epoch != store.epoch
                || c.seq < store.floor_seq
                || c.seq > store.last_seq
                || c.version > store.version
            {
                return Err(ApiError::CursorExpired);
            }
            (c.seq, c.version)
        }
    };
    let mut changes = db::sync::changes(
        &state.pool,
        &user.sub,
        after,
        store.last_seq,
        limit as i64 + 1,
    )
    .await?;
    let has_more = changes.len() > limit;
    changes.truncate(limit);
    let next = match (has_more, changes.last()) {
        (true, Some(last)) => last.seq,
        _ => store.last_seq,
    };
    // What the client holds is what the log says up to its cursor; each transaction changed
    // in this page is reported once, as its last change in the page left it.
    let ids: Vec<String> = changes.iter().map(|c| c.record_id.clone()).collect();
    let held: HashSet<String> = db::sync::held_at(&state.pool, &user.sub, &ids, after)
        .await?
        .into_iter()
        .collect();
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (i, c) in changes.iter().enumerate() {
        last.insert(&c.record_id, i);
    }
    let mut page = SyncPage {
        added: Vec::new(),
        modified: Vec::new(),
        removed: Vec::new(),
        next_cursor: SyncCursor {
            epoch: store.epoch,
            seq: next,
            version: store.version,
        }
        .encode(&state.cursor_key, &user.sub),
        has_more,
    };
    // A connection deleted since the cursor was issued took what the client held of it from
    // the log: it is told here, at once (these may exceed `limit`), and its erasure is behind
    // it from the next cursor on.
    if version < store.version && after > 0 {
        page.removed = db::sync::erased_since(&state.pool, &user.sub, after, version).await?;
    }
    let mut size = 0;
    for (i, change) in changes.iter().enumerate() {
        if last[change.record_id.as_str()] != i {
            continue;
        }
        let held = held.contains(&change.record_id);
        let Some(sealed) = &change.body_sealed else {
            // A transaction the client never had needs no removal.
            if held {
                page.removed.push(change.record_id.clone());
            }
            continue;
        };
        let body = state
            .sealer
            .open(sealed, &change_ad(&user.sub, change.seq))
            .map_err(|e| anyhow::anyhow!("a stored transaction does not open: {e}"))?;
        size += body.len();
        let raw = String::from_utf8(body)
            .ok()
            .and_then(|s| RawValue::from_string(s).ok())
            .ok_or_else(|| anyhow::anyhow!("a stored transaction is not JSON"))?;
        if held {
            page.modified.push(raw);
        } else {
            page.added.push(raw);
        }
    }
    Ok(json(&page, size + 256))
}

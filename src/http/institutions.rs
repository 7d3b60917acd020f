//! `GET /v1/institutions`: Basiq's connectors, cached with a TTL and served stale while a
//! background refresh runs (the list changes rarely; Basiq advises caching it).

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    extract::{RawQuery, State},
    routing::get,
};
use serde::Serialize;

use crate::{
    auth::AuthUser,
    basiq::{
        BasiqClient, BasiqError,
        types::{Connector, normalise_method},
    },
    error::{ApiError, ApiResult},
    http::{DataList, docs, extract::query_params},
    state::AppState,
};

pub const INSTITUTIONS_TTL: Duration = Duration::from_secs(60 * 60);

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/institutions", get(list))
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

impl From<Connector> for InstitutionView {
    fn from(c: Connector) -> Self {
        let inst = c.institution;
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
            id: c.id,
            method: normalise_method(c.method.as_deref()),
            status: c.status,
            stage: c.stage,
            name: inst.as_ref().and_then(|i| i.name.clone()),
            short_name: inst.as_ref().and_then(|i| i.short_name.clone()),
            tier: inst.as_ref().and_then(|i| i.tier.clone()),
            kind: inst.as_ref().and_then(|i| i.kind.clone()),
            country: inst.as_ref().and_then(|i| i.country.clone()),
            logo_url,
        }
    }
}

struct Snapshot {
    fetched_at: Instant,
    list: Arc<Vec<InstitutionView>>,
}

#[derive(Clone)]
pub struct InstitutionCache {
    inner: Arc<CacheInner>,
}

struct CacheInner {
    basiq: BasiqClient,
    ttl: Duration,
    current: RwLock<Option<Snapshot>>,
    refreshing: AtomicBool,
    fetch: tokio::sync::Mutex<()>,
}

impl InstitutionCache {
    pub fn new(basiq: BasiqClient, ttl: Duration) -> Self {
        Self {
            inner: Arc::new(CacheInner {
                basiq,
                ttl,
                current: RwLock::new(None),
                refreshing: AtomicBool::new(false),
                fetch: tokio::sync::Mutex::new(()),
            }),
        }
    }

    fn snapshot(&self) -> Option<(Arc<Vec<InstitutionView>>, bool)> {
        let guard = self.inner.current.read().expect("institutions lock");
        guard
            .as_ref()
            .map(|s| (s.list.clone(), s.fetched_at.elapsed() < self.inner.ttl))
    }

    async fn fetch(&self) -> Result<Arc<Vec<InstitutionView>>, BasiqError> {
        let list: Arc<Vec<_>> = Arc::new(
            self.inner
                .basiq
                .connectors()
                .await?
                .into_iter()
                .map(InstitutionView::from)
                .collect(),
        );
        *self.inner.current.write().expect("institutions lock") = Some(Snapshot {
            fetched_at: Instant::now(),
            list: list.clone(),
        });
        Ok(list)
    }

    /// The list: fresh from the cache, stale while one background refresh runs, or fetched now
    /// when there is none yet.
    pub async fn get(&self) -> Result<Arc<Vec<InstitutionView>>, BasiqError> {
        match self.snapshot() {
            Some((list, true)) => Ok(list),
            Some((list, false)) => {
                if !self.inner.refreshing.swap(true, Ordering::AcqRel) {
                    let this = self.clone();
                    tokio::spawn(async move {
                        if let Err(e) = this.fetch().await {
                            tracing::warn!(error = %e, "institutions refresh failed; serving the stale list");
                        }
                        this.inner.refreshing.store(false, Ordering::Release);
                    });
                }
                Ok(list)
            }
            None => {
                let _guard = self.inner.fetch.lock().await;
                match self.snapshot() {
                    Some((list, _)) => Ok(list),
                    None => self.fetch().await,
                }
            }
        }
    }

    /// Institution names by id, best effort (empty if Basiq cannot be reached).
    pub async fn names(&self) -> HashMap<String, String> {
        match self.get().await {
            Ok(list) => list
                .iter()
                .filter_map(|i| Some((i.id.clone(), i.name.clone()?)))
                .collect(),
            Err(_) => HashMap::new(),
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
        (status = 400, response = docs::BadRequest),
        docs::CommonErrors,
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
        .filter(|i| method.is_none() || i.method == method)
        .filter(|i| {
            needle.as_ref().is_none_or(|n| {
                [&i.name, &i.short_name]
                    .iter()
                    .any(|s| s.as_ref().is_some_and(|s| s.to_lowercase().contains(n)))
            })
        })
        .cloned()
        .collect();
    Ok(Json(DataList::new(data)))
}

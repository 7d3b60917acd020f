use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use reqwest::{Method, StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use tracing::Instrument as _;

use crate::{domain::ids::is_basiq_id, telemetry};

use super::{
    egress::{self, Answer, Budget},
    error::BasiqError,
    token::{TokenPolicy, TokenState, TokenStatus, TokenStore},
    types::*,
};

/// Deadlines and retries for calls to Basiq.
#[derive(Debug, Clone)]
pub struct UpstreamPolicy {
    /// Connecting to Basiq must be quick.
    pub connect_timeout: Duration,
    /// One attempt (a large transaction page takes a while).
    pub attempt_timeout: Duration,
    /// The whole call, retries included: the client always has an answer by then.
    pub deadline: Duration,
    /// Attempts for an idempotent read that fails with a timeout, a 5xx or a 429.
    pub max_attempts: u32,
    /// First back-off step between attempts; doubles, with full jitter.
    pub retry_base: Duration,
}

impl Default for UpstreamPolicy {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(3),
            attempt_timeout: Duration::from_secs(10),
            deadline: Duration::from_secs(20),
            max_attempts: 3,
            retry_base: Duration::from_millis(200),
        }
    }
}
/// A `CLIENT_ACCESS` token bound to one Basiq user, for the Consent UI only.
pub struct ClientToken {
    pub token: SecretString,
    pub expires_in: Duration,
}

/// A body read with serde into wire types that borrow from it, or [`BasiqError::Malformed`]
/// (whose cause goes to the log, never to a client).
fn parse<'a, T: serde::Deserialize<'a>>(
    endpoint: &'static str,
    body: &'a [u8],
) -> Result<T, BasiqError> {
    // Checked as UTF-8 once, here: read from bytes, serde_json checks every borrowed value
    // (each `Text`) again.
    let body = std::str::from_utf8(body).map_err(|e| BasiqError::Malformed {
        endpoint,
        cause: e.to_string(),
    })?;
    serde_json::from_str(body).map_err(|e| BasiqError::Malformed {
        endpoint,
        cause: e.to_string(),
    })
}

// What Basiq sends for accounts and transactions is read into wire types that borrow from
// the answer, which each of these keeps: a handler gets Basiq's data read, in one call.

/// The user's accounts.
pub type AccountList<'a> = Vec<Account<'a>>;

self_cell::self_cell!(
    /// The user's accounts as Basiq sent them, read.
    pub struct Accounts {
        owner: Answer,
        #[covariant]
        dependent: AccountList,
    }
);

self_cell::self_cell!(
    /// One account as Basiq sent it, read.
    pub struct OneAccount {
        owner: Answer,
        #[covariant]
        dependent: Account,
    }
);

/// A page of transactions, and the query of Basiq's next page if there is one.
pub struct PageRows<'a> {
    pub rows: Vec<Transaction<'a>>,
    pub next_query: Option<String>,
}

self_cell::self_cell!(
    /// A page of transactions as Basiq sent it, read.
    pub struct TransactionPage {
        owner: Answer,
        #[covariant]
        dependent: PageRows,
    }
);

self_cell::self_cell!(
    /// One transaction as Basiq sent it, read.
    pub struct OneTransaction {
        owner: Answer,
        #[covariant]
        dependent: Transaction,
    }
);

/// Cheap to clone: one pooled HTTP client and one token cache for the whole process.
#[derive(Clone)]
pub struct BasiqClient {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    http: reqwest::Client,
    /// Basiq's address without its trailing `/`: each call appends its path and query.
    base: String,
    /// What large answers in flight may hold.
    budget: Budget,
    api_key: SecretString,
    pub(super) tokens: TokenState,
    pub(super) policy: TokenPolicy,
    upstream: UpstreamPolicy,
    pub(super) shared: Option<Arc<dyn TokenStore>>,
}

impl BasiqClient {
    /// `shared`: replicas on one database share one token through it (production); without it
    /// the token lives in this process only. Basiq is called direct.
    pub fn new(
        base: &Url,
        api_key: SecretString,
        policy: TokenPolicy,
        upstream: UpstreamPolicy,
        shared: Option<Arc<dyn TokenStore>>,
    ) -> anyhow::Result<Self> {
        Self::with_proxy(base, api_key, policy, upstream, shared, None)
    }

    /// [`BasiqClient::new`] with calls to an https Basiq going through `proxy`.
    pub fn with_proxy(
        base: &Url,
        api_key: SecretString,
        policy: TokenPolicy,
        upstream: UpstreamPolicy,
        shared: Option<Arc<dyn TokenStore>>,
        proxy: Option<egress::Proxy<'_>>,
    ) -> anyhow::Result<Self> {
        let http = egress::client(upstream.connect_timeout, base.scheme() == "https", proxy)?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base: base.as_str().trim_end_matches('/').to_owned(),
                budget: Budget::default(),
                api_key,
                tokens: TokenState::default(),
                policy,
                upstream,
                shared,
            }),
        })
    }

    /// The process's one HTTP client for calls that leave it (Basiq's settings: egress proxy,
    /// connect timeout, no redirects, no hidden retries).
    pub fn egress(&self) -> reqwest::Client {
        self.inner.http.clone()
    }

    pub fn token_status(&self) -> TokenStatus {
        self.inner.tokens.status()
    }

    pub(super) async fn fetch_token(
        &self,
        form: &[(&str, &str)],
    ) -> Result<TokenResponse, BasiqError> {
        const EP: &str = "POST /token";
        let mut key =
            header::HeaderValue::try_from(format!("Basic {}", self.inner.api_key.expose_secret()))
                .map_err(|_| {
                    BasiqError::TokenUnavailable("BASIQ_API_KEY is not a header value".into())
                })?;
        key.set_sensitive(true);
        let form = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let req = self
            .request(Method::POST, "/token", None)
            .header(header::AUTHORIZATION, key)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form);
        let answer = self
            .attempt(EP, req, self.inner.upstream.attempt_timeout)
            .await?;
        parse(EP, &answer.body)
    }

    /// A `CLIENT_ACCESS` token bound to `user_id`: it can open the Consent UI for that user only.
    pub async fn client_token(&self, user_id: &str) -> Result<ClientToken, BasiqError> {
        let t = self
            .fetch_token(&[("scope", "CLIENT_ACCESS"), ("userId", user_id)])
            .await?;
        Ok(ClientToken {
            token: SecretString::from(t.access_token),
            expires_in: Duration::from_secs(t.expires_in),
        })
    }

    /// A request to Basiq's `path` (ours: literal segments and checked ids) and `query` (ours,
    /// or the query of Basiq's own next-page link), with the headers every call carries.
    fn request(&self, method: Method, path: &str, query: Option<&str>) -> reqwest::RequestBuilder {
        let mut url = String::with_capacity(self.inner.base.len() + path.len() + 128);
        url.push_str(&self.inner.base);
        url.push_str(path);
        if let Some(query) = query.filter(|q| !q.is_empty()) {
            url.push('?');
            url.push_str(query);
        }
        self.inner
            .http
            .request(method, url)
            .header("basiq-version", "3.0")
            .header(header::ACCEPT, "application/json")
    }

    /// Sends an authenticated call; if Basiq says the token expired (403 "Token has expired"
    /// or 401), refreshes the shared token once and retries once.
    /// `endpoint` names the call and gives its method and path (`"GET /users/{id}/accounts"`),
    /// each `{id}` filled from `ids` in order.
    async fn call(
        &self,
        endpoint: &'static str,
        ids: &[&str],
        query: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, BasiqError> {
        let policy = &self.inner.upstream;
        let deadline = Instant::now() + policy.deadline;
        let (method, path) = route(endpoint, ids)?;
        let idempotent = method == Method::GET;
        let body = match body {
            Some(body) => Some(axum::body::Bytes::from(serde_json::to_vec(body).map_err(
                |e| BasiqError::Malformed {
                    endpoint,
                    cause: format!("our request body: {e}"),
                },
            )?)),
            None => None,
        };
        let mut token_refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(BasiqError::Timeout { endpoint });
            }
            let token = self.server_token().await?;
            let req = self
                .request(method.clone(), &path, query)
                .header(header::AUTHORIZATION, token.bearer.clone());
            let req = match &body {
                Some(body) => req
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(body.clone()),
                None => req,
            };
            let result = self
                .attempt(endpoint, req, policy.attempt_timeout.min(remaining))
                .await;
            match result {
                Err(e) if !token_refreshed && token_expired(&e) => {
                    tracing::info!(
                        endpoint,
                        "basiq says the server token expired; refreshing once"
                    );
                    self.inner.tokens.reject(&token.token);
                    token_refreshed = true;
                    attempt -= 1;
                }
                Err(e) if idempotent && attempt < policy.max_attempts && retryable(&e) => {
                    let wait = e
                        .retry_after_secs()
                        .map(Duration::from_secs)
                        .unwrap_or_else(|| {
                            policy
                                .retry_base
                                .saturating_mul(1 << (attempt - 1))
                                .mul_f64(rand::random::<f64>())
                        });
                    if Instant::now() + wait >= deadline {
                        return Err(e);
                    }
                    tracing::info!(endpoint, attempt, error = %e, wait_ms = wait.as_millis() as u64, "retrying a basiq read");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    /// One attempt, sent and its answer checked. While traces are on it is a span of its own
    /// (a child of the caller's), which the request names in its `traceparent` and which
    /// records Basiq's status and `correlationId`.
    async fn attempt(
        &self,
        endpoint: &'static str,
        req: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<Answer, BasiqError> {
        if !telemetry::traces_on() {
            return egress::send(&self.inner.budget, endpoint, req, timeout)
                .await
                .and_then(|answer| check(endpoint, answer));
        }
        let span = tracing::info_span!(
            "basiq.request",
            otel.name = endpoint,
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            endpoint,
            http.response.status_code = tracing::field::Empty,
            basiq.correlation_id = tracing::field::Empty,
            error.type = tracing::field::Empty,
        );
        let req = match telemetry::trace_headers(&span) {
            Some(headers) => req.headers(headers),
            None => req,
        };
        let result = async {
            egress::send(&self.inner.budget, endpoint, req, timeout)
                .await
                .and_then(|answer| check(endpoint, answer))
        }
        .instrument(span.clone())
        .await;
        // Statuses as integers: tracing records a u16 as text.
        match &result {
            Ok(answer) => {
                span.record(
                    "http.response.status_code",
                    i64::from(answer.status.as_u16()),
                );
            }
            Err(BasiqError::Status {
                status,
                correlation_id,
                ..
            }) => {
                span.record("otel.status_code", "error");
                span.record("http.response.status_code", i64::from(*status));
                if let Some(id) = correlation_id {
                    span.record("basiq.correlation_id", id.as_str());
                }
            }
            Err(e) => {
                span.record("otel.status_code", "error");
                span.record(
                    "error.type",
                    match e {
                        BasiqError::Timeout { .. } => "timeout",
                        BasiqError::Malformed { .. } => "too_large",
                        _ => "unreachable",
                    },
                );
            }
        }
        result
    }

    async fn get<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        ids: &[&str],
    ) -> Result<T, BasiqError> {
        let answer = self.call(endpoint, ids, None, None).await?;
        parse(endpoint, &answer.body)
    }

    pub async fn create_user(
        &self,
        email: Option<&str>,
        mobile: Option<&str>,
    ) -> Result<User, BasiqError> {
        const EP: &str = "POST /users";
        let mut body = serde_json::Map::new();
        if let Some(e) = email {
            body.insert("email".into(), e.into());
        }
        if let Some(m) = mobile {
            body.insert("mobile".into(), m.into());
        }
        let answer = self.call(EP, &[], None, Some(&body.into())).await?;
        let user: User = parse(EP, &answer.body)?;
        // It is stored and put into every later path: it must be an id.
        if !is_basiq_id(&user.id) {
            return Err(not_an_id(EP));
        }
        Ok(user)
    }

    /// Updates the user's contact details (Basiq updates with `POST`, not `PUT`).
    pub async fn update_user(
        &self,
        user_id: &str,
        email: Option<&str>,
        mobile: Option<&str>,
    ) -> Result<(), BasiqError> {
        let mut body = serde_json::Map::new();
        if let Some(e) = email {
            body.insert("email".into(), e.into());
        }
        if let Some(m) = mobile {
            body.insert("mobile".into(), m.into());
        }
        self.call("POST /users/{id}", &[user_id], None, Some(&body.into()))
            .await
            .map(drop)
    }

    pub async fn delete_user(&self, user_id: &str) -> Result<(), BasiqError> {
        self.call("DELETE /users/{id}", &[user_id], None, None)
            .await
            .map(drop)
    }

    pub async fn job(&self, job_id: &str) -> Result<Job, BasiqError> {
        self.get("GET /jobs/{id}", &[job_id]).await
    }

    pub async fn user_jobs(&self, user_id: &str) -> Result<Vec<Job>, BasiqError> {
        let list: List<Job> = self.get("GET /users/{id}/jobs", &[user_id]).await?;
        Ok(list.data)
    }

    pub async fn connections(&self, user_id: &str) -> Result<Vec<Connection>, BasiqError> {
        let list: List<Connection> = self.get("GET /users/{id}/connections", &[user_id]).await?;
        Ok(list.data)
    }

    pub async fn connection(&self, user_id: &str, id: &str) -> Result<Connection, BasiqError> {
        self.get("GET /users/{id}/connections/{id}", &[user_id, id])
            .await
    }

    /// The user's accounts, read.
    pub async fn accounts(&self, user_id: &str) -> Result<Accounts, BasiqError> {
        const EP: &str = "GET /users/{id}/accounts";
        let answer = self.call(EP, &[user_id], None, None).await?;
        Accounts::try_new(answer, |a| {
            parse::<Page<Account>>(EP, &a.body).map(|page| page.data)
        })
    }

    /// One account, read.
    pub async fn account(&self, user_id: &str, id: &str) -> Result<OneAccount, BasiqError> {
        const EP: &str = "GET /users/{id}/accounts/{id}";
        let answer = self.call(EP, &[user_id, id], None, None).await?;
        OneAccount::try_new(answer, |a| parse(EP, &a.body))
    }

    /// One page of transactions, read. `query` is either our own first-page query or the query
    /// Basiq put in the previous page's `links.next`; the next page's is checked to point at
    /// the same user's transactions.
    pub async fn transactions(
        &self,
        user_id: &str,
        query: &str,
    ) -> Result<TransactionPage, BasiqError> {
        const EP: &str = "GET /users/{id}/transactions";
        let path = route(EP, &[user_id])?.1;
        let answer = self.call(EP, &[user_id], Some(query), None).await?;
        TransactionPage::try_new(answer, |a| {
            let page: Page<Transaction> = parse(EP, &a.body)?;
            let next_query = match page.links.and_then(|l| l.next) {
                None => None,
                Some(next) => Some(next_page_query(&next.decoded(), &path).ok_or_else(|| {
                    BasiqError::Malformed {
                        endpoint: EP,
                        cause: "links.next is not a transactions URL".into(),
                    }
                })?),
            };
            Ok(PageRows {
                rows: page.data,
                next_query,
            })
        })
    }

    /// One transaction, read.
    pub async fn transaction(&self, user_id: &str, id: &str) -> Result<OneTransaction, BasiqError> {
        const EP: &str = "GET /users/{id}/transactions/{id}";
        let answer = self.call(EP, &[user_id, id], None, None).await?;
        OneTransaction::try_new(answer, |a| parse(EP, &a.body))
    }

    /// Asks Basiq to refresh a connection. `true` when Basiq started a new job (202); `false`
    /// when it answered with the job already running for that connection (200).
    pub async fn refresh_connection(
        &self,
        user_id: &str,
        connection_id: &str,
    ) -> Result<(JobStub, bool), BasiqError> {
        const EP: &str = "POST /users/{id}/connections/{id}/refresh";
        let answer = self.call(EP, &[user_id, connection_id], None, None).await?;
        let created = answer.status == StatusCode::ACCEPTED;
        Ok((parse(EP, &answer.body)?, created))
    }

    pub async fn delete_connection(
        &self,
        user_id: &str,
        connection_id: &str,
    ) -> Result<(), BasiqError> {
        self.call(
            "DELETE /users/{id}/connections/{id}",
            &[user_id, connection_id],
            None,
            None,
        )
        .await
        .map(drop)
    }

    /// Answers the bank's challenge a job waits on (`POST /jobs/{id}/mfa`), with a
    /// `CLIENT_ACCESS` token of the job's user, as Basiq requires (core.json, postJobMfa). Sent
    /// once: it is not idempotent. The answers are never logged.
    pub async fn answer_mfa(
        &self,
        user_id: &str,
        job_id: &str,
        responses: &[String],
    ) -> Result<(), BasiqError> {
        const EP: &str = "POST /jobs/{id}/mfa";
        #[derive(serde::Serialize)]
        struct Body<'a> {
            #[serde(rename = "mfa-response")]
            responses: &'a [String],
        }
        let (method, path) = route(EP, &[job_id])?;
        let body = serde_json::to_vec(&Body { responses }).map_err(|e| BasiqError::Malformed {
            endpoint: EP,
            cause: format!("our request body: {e}"),
        })?;
        let token = self.client_token(user_id).await?;
        let mut bearer =
            header::HeaderValue::try_from(format!("Bearer {}", token.token.expose_secret()))
                .map_err(|_| {
                    BasiqError::TokenUnavailable("a client token is not a header value".into())
                })?;
        bearer.set_sensitive(true);
        let req = self
            .request(method, &path, None)
            .header(header::AUTHORIZATION, bearer)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body);
        self.attempt(EP, req, self.inner.upstream.attempt_timeout)
            .await
            .map(drop)
    }

    /// Removes the connection's accounts and transactions at Basiq, keeping the connection for
    /// a later refresh. Basiq purges active connections only (data.json, purgeConnectionData).
    pub async fn purge_connection(
        &self,
        user_id: &str,
        connection_id: &str,
    ) -> Result<(), BasiqError> {
        self.call(
            "POST /users/{id}/connections/{id}/purge",
            &[user_id, connection_id],
            None,
            None,
        )
        .await
        .map(drop)
    }

    /// The application's webhook subscriptions (`GET /notifications/webhooks`).
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, BasiqError> {
        let list: List<Webhook> = self.get("GET /notifications/webhooks", &[]).await?;
        Ok(list.data)
    }

    /// Subscribes `url` to `events`; the answer carries the signing secret, shown this once.
    pub async fn create_webhook(&self, url: &str, events: &[&str]) -> Result<Webhook, BasiqError> {
        const EP: &str = "POST /notifications/webhooks";
        let answer = self
            .call(EP, &[], None, Some(&webhook_body(url, events)))
            .await?;
        parse(EP, &answer.body)
    }

    /// Changes what subscription `id` receives.
    pub async fn update_webhook(
        &self,
        id: &str,
        url: &str,
        events: &[&str],
    ) -> Result<Webhook, BasiqError> {
        const EP: &str = "POST /notifications/webhooks/{id}";
        let answer = self
            .call(EP, &[id], None, Some(&webhook_body(url, events)))
            .await?;
        parse(EP, &answer.body)
    }

    pub async fn delete_webhook(&self, id: &str) -> Result<(), BasiqError> {
        self.call("DELETE /notifications/webhooks/{id}", &[id], None, None)
            .await
            .map(drop)
    }

    /// Asks Basiq to send a test message of `event_type` to the subscriptions of it.
    pub async fn test_webhook(&self, event_type: &str) -> Result<(), BasiqError> {
        let body = serde_json::json!({ "eventTypeId": event_type });
        self.call("POST /notifications/messages/test", &[], None, Some(&body))
            .await
            .map(drop)
    }

    pub async fn event(&self, event_id: &str) -> Result<Event, BasiqError> {
        self.get("GET /events/{id}", &[event_id]).await
    }

    /// `GET /events`: Basiq's events of the last 7 days (it keeps no more).
    pub async fn events(&self) -> Result<Vec<Event>, BasiqError> {
        let list: List<Event> = self.get("GET /events", &[]).await?;
        Ok(list.data)
    }

    pub async fn connectors(&self) -> Result<Vec<Connector>, BasiqError> {
        let list: List<Connector> = self.get("GET /connectors", &[]).await?;
        Ok(list.data)
    }

    pub async fn consents(&self, user_id: &str) -> Result<Vec<Consent>, BasiqError> {
        let list: List<Consent> = self.get("GET /users/{id}/consents", &[user_id]).await?;
        Ok(list.data)
    }

    /// Revokes one of the user's consents.
    pub async fn revoke_consent(&self, user_id: &str, consent_id: &str) -> Result<(), BasiqError> {
        self.call(
            "DELETE /users/{id}/consents/{id}",
            &[user_id, consent_id],
            None,
            None,
        )
        .await
        .map(drop)
    }
}

/// What creating or updating a webhook subscription sends (webhooks.json, addWebhook).
fn webhook_body(url: &str, events: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "name": "basiq-bff",
        "description": "basiq-bff's webhook route",
        "url": url,
        "subscribedEvents": events,
    })
}

/// The method and path of `endpoint` (`"GET /users/{id}/accounts"`), each `{id}` filled from
/// `ids` in order. Each id is checked first: one that is not an id never reaches Basiq, whether
/// a client sent it or an earlier answer of Basiq's did.
fn route(endpoint: &'static str, ids: &[&str]) -> Result<(Method, String), BasiqError> {
    let (method, template) = endpoint
        .split_once(' ')
        .expect("an endpoint is \"METHOD /path\"");
    let method = Method::from_bytes(method.as_bytes()).expect("an endpoint's method is one");
    let mut ids = ids.iter();
    let mut path = String::with_capacity(template.len() + 64);
    for (i, segment) in template.split('/').enumerate() {
        if i > 0 {
            path.push('/');
        }
        if segment == "{id}" {
            let id = ids.next().expect("an id for every {id} of the endpoint");
            if !is_basiq_id(id) {
                return Err(not_an_id(endpoint));
            }
            path.push_str(id);
        } else {
            path.push_str(segment);
        }
    }
    debug_assert!(ids.next().is_none(), "{endpoint}: more ids than {{id}}s");
    Ok((method, path))
}

fn not_an_id(endpoint: &'static str) -> BasiqError {
    BasiqError::Malformed {
        endpoint,
        cause: "an id to put in the path is not a Basiq id".into(),
    }
}

const MAX_NEXT_QUERY: usize = 2048;

/// The query of a `links.next` URL, checked to point at the same user's transactions.
fn next_page_query(next: &str, expected_path: &str) -> Option<String> {
    let url = Url::parse(next)
        .or_else(|_| Url::parse("http://basiq.invalid").and_then(|b| b.join(next)))
        .ok()?;
    if !url.path().ends_with(expected_path) {
        return None;
    }
    // It travels inside our cursor, which a client sends back: Basiq's are far shorter.
    url.query()
        .filter(|q| q.len() <= MAX_NEXT_QUERY)
        .map(str::to_owned)
}

/// Worth another attempt for a read: Basiq or the network had a moment.
fn retryable(e: &BasiqError) -> bool {
    match e {
        BasiqError::Timeout { .. } | BasiqError::Unreachable { .. } => true,
        BasiqError::Status { status, .. } => *status == 429 || *status >= 500,
        _ => false,
    }
}

fn token_expired(e: &BasiqError) -> bool {
    match e {
        BasiqError::Status { status: 401, .. } => true,
        BasiqError::Status {
            status: 403,
            detail,
            ..
        } => detail
            .as_deref()
            .is_some_and(|d| d.to_ascii_lowercase().contains("expired")),
        _ => false,
    }
}

/// Turns a non-success answer into [`BasiqError::Status`], reading Basiq's error envelope.
fn check(endpoint: &'static str, answer: Answer) -> Result<Answer, BasiqError> {
    let status = answer.status;
    if status.is_success() {
        return Ok(answer);
    }
    let retry_after = answer
        .headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let envelope: Option<ErrorEnvelope> = serde_json::from_slice(&answer.body).ok();
    let first = envelope.as_ref().and_then(|e| e.data.first());
    let error = BasiqError::Status {
        endpoint,
        status: status.as_u16(),
        code: first.and_then(|f| f.code.clone()),
        detail: first.and_then(|f| f.detail.clone().or_else(|| f.title.clone())),
        correlation_id: envelope.and_then(|e| e.correlation_id),
        retry_after,
    };
    if status != StatusCode::NOT_FOUND {
        tracing::warn!(error = %error, "basiq call failed");
    }
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_query_must_point_at_the_same_users_transactions() {
        let path = "/users/u1/transactions";
        assert_eq!(
            next_page_query(
                "https://au-api.basiq.io/users/u1/transactions?next=abc&limit=5",
                path
            )
            .as_deref(),
            Some("next=abc&limit=5")
        );
        assert_eq!(
            next_page_query("/users/u1/transactions?next=abc", path).as_deref(),
            Some("next=abc")
        );
        assert!(
            next_page_query("https://evil.example/users/u2/transactions?next=x", path).is_none()
        );
    }

    #[test]
    fn a_path_is_the_endpoints_with_each_id_checked() {
        assert_eq!(
            route("POST /users/{id}/connections/{id}/refresh", &["u1", "c-2"]).unwrap(),
            (Method::POST, "/users/u1/connections/c-2/refresh".to_owned())
        );
        assert_eq!(
            route("GET /connectors", &[]).unwrap(),
            (Method::GET, "/connectors".to_owned())
        );
        for bad in ["../admin", "u1/accounts", "u1?x=1", ""] {
            assert!(
                matches!(
                    route("GET /users/{id}/accounts", &[bad]),
                    Err(BasiqError::Malformed { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_expiry_answers_trigger_a_token_refresh() {
        let status = |status, detail: &str| BasiqError::Status {
            endpoint: "x",
            status,
            code: None,
            detail: Some(detail.into()),
            correlation_id: None,
            retry_after: None,
        };
        assert!(token_expired(&status(403, "Token has expired")));
        assert!(token_expired(&status(401, "whatever")));
        assert!(!token_expired(&status(403, "Access denied")));
        assert!(!token_expired(&status(404, "expired")));
    }
}

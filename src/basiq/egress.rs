//! The wire to Basiq: one reqwest client, one attempt at a time.
//!
//! - A new connection (TCP, the egress proxy's `CONNECT` tunnel and the TLS handshake
//!   together) must be made within the connect timeout; an attempt, the whole answer read,
//!   within its own timeout.
//! - No redirects (a redirect would carry our token elsewhere) and no hidden retries: reqwest's
//!   replay of refused HTTP/2 streams is off, as [`UpstreamPolicy`](super::UpstreamPolicy)
//!   owns retries.
//! - Calls to an https Basiq go through the configured egress [`Proxy`], if any,
//!   with `Proxy-Authorization` from its URL; a plain-http Basiq (the simulator) is always
//!   called direct.
//! - Answers are read up to [`MAX_ANSWER_BYTES`]; past [`FREE_ANSWER_BYTES`], an answer takes
//!   its size from a process-wide budget of [`LARGE_ANSWERS_BUDGET`] first, so that many large
//!   answers at once cannot take the process's memory with them.
//! - Errors carry no URL (Basiq user ids live in paths) and no header.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::body::Bytes;
use reqwest::{StatusCode, header::HeaderMap};
use secrecy::ExposeSecret;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use secrecy::SecretString;

use super::error::BasiqError;

/// The egress proxy for calls to an https Basiq (`HTTPS_PROXY` and `NO_PROXY`, as configured).
#[derive(Debug, Clone, Copy)]
pub struct Proxy<'a> {
    /// Which variable it came from, for messages.
    pub var: &'static str,
    /// `http://[user:password@]host[:port]`.
    pub url: &'a SecretString,
    /// Hosts and domains that go direct, comma-separated as curl reads them.
    pub no_proxy: Option<&'a str>,
}

/// The largest answer read from Basiq. Its largest, a 500-row transactions page with
/// enrichment, is about a megabyte; a runaway answer must not take the process's memory.
pub const MAX_ANSWER_BYTES: usize = 32 << 20;
/// Answers up to this size (every answer Basiq really sends) are read without asking.
pub const FREE_ANSWER_BYTES: usize = 2 << 20;
/// What all answers larger than [`FREE_ANSWER_BYTES`] may hold at once: two of the largest.
pub const LARGE_ANSWERS_BUDGET: usize = 2 * MAX_ANSWER_BYTES;
const MIB: usize = 1 << 20;

pub const USER_AGENT: &str = concat!("basiq-bff/", env!("CARGO_PKG_VERSION"));

/// The one client for everything that leaves the process towards Basiq (and the JWKS).
pub fn client(
    connect_timeout: Duration,
    https_basiq: bool,
    proxy: Option<Proxy<'_>>,
) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        // Proxies are ours to choose (below), never read from the environment by reqwest.
        .no_proxy()
        .tcp_nodelay(true)
        // A dead peer on a pooled connection is noticed.
        .tcp_keepalive(Duration::from_secs(15))
        .pool_idle_timeout(Duration::from_secs(60));
    if let Some(proxy) = proxy.filter(|_| https_basiq) {
        let via = reqwest::Proxy::https(proxy.url.expose_secret())
            .map_err(|_| anyhow::anyhow!("{}: the proxy URL cannot be used", proxy.var))?
            .no_proxy(proxy.no_proxy.and_then(reqwest::NoProxy::from_string));
        tracing::info!(proxy = %without_credentials(proxy.url.expose_secret()), "calls to an https Basiq go through a proxy");
        builder = builder.proxy(via);
    }
    Ok(builder.build()?)
}

/// A proxy's address for a log line: no user or password.
fn without_credentials(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.as_str().trim_end_matches('/').to_owned()
        }
        Err(_) => "-".into(),
    }
}

/// Basiq's whole answer. A large one holds its share of the budget until it is dropped, so
/// the memory it costs while it is parsed counts too.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    _budget: Option<OwnedSemaphorePermit>,
}

/// Large answers in flight, in MiB.
#[derive(Clone)]
pub struct Budget(Arc<Semaphore>);

impl Default for Budget {
    fn default() -> Self {
        Self(Arc::new(Semaphore::new(LARGE_ANSWERS_BUDGET / MIB)))
    }
}

impl Budget {
    /// Room for an answer of `bytes`, waiting for it if other large answers hold it.
    async fn room(&self, bytes: usize) -> OwnedSemaphorePermit {
        let mib = bytes.div_ceil(MIB).min(LARGE_ANSWERS_BUDGET / MIB) as u32;
        self.0
            .clone()
            .acquire_many_owned(mib)
            .await
            .expect("the budget is never closed")
    }
}

/// One attempt: sends `request` and reads the whole answer within `timeout`, and counts it.
pub async fn send(
    budget: &Budget,
    endpoint: &'static str,
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<Answer, BasiqError> {
    let started = Instant::now();
    let result = tokio::time::timeout(timeout, async {
        let response = request.send().await.map_err(|e| failure(endpoint, e))?;
        read(budget, endpoint, response).await
    })
    .await
    .unwrap_or(Err(BasiqError::Timeout { endpoint }));
    let status = match &result {
        Ok(answer) => answer.status.as_str().to_owned(),
        Err(BasiqError::Timeout { .. }) => "timeout".to_owned(),
        Err(BasiqError::Malformed { .. }) => "too_large".to_owned(),
        Err(_) => "unreachable".to_owned(),
    };
    metrics::counter!("basiq_requests_total", "endpoint" => endpoint, "status" => status)
        .increment(1);
    metrics::histogram!("basiq_request_duration_seconds", "endpoint" => endpoint)
        .record(started.elapsed().as_secs_f64());
    tracing::debug!(
        endpoint,
        elapsed_ms = started.elapsed().as_millis() as u64,
        ok = result.is_ok(),
        "basiq call"
    );
    result
}

/// The whole body, within the cap and the budget. A refusal is a refusal even if its
/// explanation is cut short or too long.
async fn read(
    budget: &Budget,
    endpoint: &'static str,
    mut response: reqwest::Response,
) -> Result<Answer, BasiqError> {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let too_large = || BasiqError::Malformed {
        endpoint,
        cause: format!("the answer is larger than {} MiB", MAX_ANSWER_BYTES / MIB),
    };
    let declared = response
        .content_length()
        .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
    if declared > MAX_ANSWER_BYTES {
        return match status.is_success() {
            true => Err(too_large()),
            false => Ok(Answer {
                status,
                headers,
                body: Bytes::new(),
                _budget: None,
            }),
        };
    }
    let mut permit = match declared > FREE_ANSWER_BYTES {
        true => Some(budget.room(declared).await),
        false => None,
    };
    let mut body = Vec::with_capacity(declared.min(FREE_ANSWER_BYTES));
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(_) if !status.is_success() => break,
            Err(e) => return Err(failure(endpoint, e)),
        };
        let len = body.len() + chunk.len();
        if len > MAX_ANSWER_BYTES {
            if !status.is_success() {
                break;
            }
            return Err(too_large());
        }
        // Grown past what is free without a declared length: take the most it may become.
        if len > FREE_ANSWER_BYTES && permit.is_none() {
            permit = Some(budget.room(MAX_ANSWER_BYTES).await);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        headers,
        body: Bytes::from(body),
        _budget: permit,
    })
}

/// A transport failure: a timeout anywhere in its causes (connecting included) is a
/// [`BasiqError::Timeout`]; anything else is Basiq unreachable, with the causes on one line.
/// None of them carries a URL or a header.
fn failure(endpoint: &'static str, e: reqwest::Error) -> BasiqError {
    if e.is_timeout() {
        return BasiqError::Timeout { endpoint };
    }
    let e = e.without_url();
    let mut cause = e.to_string();
    let mut timed_out = false;
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        timed_out |= s
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
            || s.to_string().contains("timed out");
        cause.push_str(": ");
        cause.push_str(&s.to_string());
        source = s.source();
    }
    if timed_out {
        BasiqError::Timeout { endpoint }
    } else {
        BasiqError::Unreachable { endpoint, cause }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_is_logged_without_its_credentials() {
        assert_eq!(
            without_credentials("http://user:secret@proxy.internal:3128"),
            "http://proxy.internal:3128"
        );
    }

    #[tokio::test]
    async fn the_budget_never_holds_more_than_two_of_the_largest_answers() {
        let budget = Budget::default();
        let first = budget.room(MAX_ANSWER_BYTES).await;
        let _second = budget.room(MAX_ANSWER_BYTES).await;
        let third = tokio::time::timeout(Duration::from_millis(50), budget.room(3 * MIB)).await;
        assert!(third.is_err(), "no room left");
        drop(first);
        let fourth = tokio::time::timeout(Duration::from_millis(50), budget.room(3 * MIB)).await;
        assert!(fourth.is_ok(), "room once one is done");
    }
}

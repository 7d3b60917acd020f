//! The wire to Basiq: hyper's pooled client over rustls, one attempt at a time.
//!
//! A call is built as an `http::Request` and its whole answer is read within the attempt's
//! deadline. There is no redirect following (a redirect would carry our token elsewhere) and no
//! hidden retry ([`UpstreamPolicy`](super::client::UpstreamPolicy) owns retries). Calls to an
//! https Basiq go through the configured egress proxy ([`EgressProxy`]), if any, in an HTTP
//! `CONNECT` tunnel; a plain-http Basiq (the simulator) is always called direct.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::body::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::{
    Request, StatusCode,
    header::{self, HeaderMap, HeaderValue},
    http::uri::{Authority, PathAndQuery, Scheme, Uri},
};
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::{
    client::{
        legacy::{
            Client,
            connect::{HttpConnector, proxy::Tunnel},
        },
        proxy::matcher::Matcher,
    },
    rt::{TokioExecutor, TokioIo, TokioTimer},
};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use tokio::net::TcpStream;
use url::Url;

use super::error::BasiqError;
use crate::config::EgressProxy;
use secrecy::ExposeSecret;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where Basiq lives, split once so each call only writes its path and query.
#[derive(Clone, Debug)]
pub struct Base {
    scheme: Scheme,
    authority: Authority,
    /// The base's own path without its trailing `/` (empty for `https://au-api.basiq.io`).
    path: String,
}

/// Characters a path segment must not carry as they are (the URL standard's path set).
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'%');

impl Base {
    pub fn new(base: &Url) -> anyhow::Result<Self> {
        let uri: Uri = base.as_str().parse()?;
        let parts = uri.into_parts();
        Ok(Self {
            scheme: parts
                .scheme
                .ok_or_else(|| anyhow::anyhow!("the Basiq address has no scheme"))?,
            authority: parts
                .authority
                .ok_or_else(|| anyhow::anyhow!("the Basiq address has no host"))?,
            path: base.path().trim_end_matches('/').to_owned(),
        })
    }

    /// The address of `path` (and `query`, already encoded) at Basiq. `path` is ours
    /// (`/users/{id}/accounts`): anything in it a URL path may not hold is percent-encoded.
    pub fn uri(
        &self,
        endpoint: &'static str,
        path: &str,
        query: Option<&str>,
    ) -> Result<Uri, BasiqError> {
        let mut target = String::with_capacity(self.path.len() + path.len() + 64);
        target.push_str(&self.path);
        target.extend(utf8_percent_encode(path, PATH));
        if let Some(query) = query.filter(|q| !q.is_empty()) {
            target.push('?');
            target.push_str(query);
        }
        let unaddressable = |cause: String| BasiqError::Unreachable {
            endpoint,
            cause: format!("cannot address Basiq: {cause}"),
        };
        let path_and_query = PathAndQuery::from_maybe_shared(Bytes::from(target))
            .map_err(|e| unaddressable(e.to_string()))?;
        let mut parts = hyper::http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(path_and_query);
        Uri::from_parts(parts).map_err(|e| unaddressable(e.to_string()))
    }

    /// For the proxy decision.
    fn root(&self) -> Uri {
        self.uri("/", "/", None).expect("the base address is valid")
    }
}

/// TCP to Basiq, or to the proxy and through a `CONNECT` tunnel.
#[derive(Clone)]
pub enum Egress {
    Direct(HttpConnector),
    Tunnel(Tunnel<HttpConnector>),
}

impl tower::Service<Uri> for Egress {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        match self {
            Self::Direct(c) => c.poll_ready(cx).map_err(Into::into),
            Self::Tunnel(c) => c.poll_ready(cx).map_err(Into::into),
        }
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        // Once per pooled connection, so the box costs nothing that matters.
        match self {
            Self::Direct(c) => {
                let f = c.call(dst);
                Box::pin(async move { f.await.map_err(Into::into) })
            }
            Self::Tunnel(c) => {
                let f = c.call(dst);
                Box::pin(async move { f.await.map_err(Into::into) })
            }
        }
    }
}

/// A new connection to Basiq, TCP, proxy tunnel and TLS handshake together, within one
/// deadline: a peer that stalls at any step is a timeout.
#[derive(Clone)]
pub struct Connector {
    inner: HttpsConnector<Egress>,
    timeout: Duration,
}

impl tower::Service<Uri> for Connector {
    type Response = MaybeHttpsStream<TokioIo<TcpStream>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let connecting = self.inner.call(dst);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(result) => result,
                Err(_) => Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connecting to Basiq timed out",
                )
                .into()),
            }
        })
    }
}

pub type HttpClient = Client<Connector, Full<Bytes>>;

/// The one pooled client.
pub fn client(
    base: &Base,
    connect_timeout: Duration,
    proxy: Option<&EgressProxy>,
) -> anyhow::Result<HttpClient> {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    // A dead peer on a pooled connection is noticed, as reqwest did by default.
    tcp.set_keepalive(Some(Duration::from_secs(15)));
    let egress = match intercept(base, proxy)? {
        Some(proxy) => {
            tracing::info!(proxy = %without_credentials(proxy.uri()), "calls to Basiq go through a proxy");
            let tunnel = Tunnel::new(proxy.uri().clone(), tcp);
            Egress::Tunnel(match proxy.basic_auth() {
                Some(auth) => tunnel.with_auth(auth.clone()),
                None => tunnel,
            })
        }
        None => Egress::Direct(tcp),
    };
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .try_with_platform_verifier()?
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(egress);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        .build(Connector {
            inner: https,
            timeout: connect_timeout,
        }))
}

/// The proxy to reach Basiq through, if any. Only calls to an https Basiq are tunnelled (a
/// plain-http one is the local simulator). A configured proxy that cannot be used is an error,
/// never a silent direct call.
fn intercept(
    base: &Base,
    proxy: Option<&EgressProxy>,
) -> anyhow::Result<Option<hyper_util::client::proxy::matcher::Intercept>> {
    let Some(proxy) = proxy.filter(|_| base.scheme == Scheme::HTTPS) else {
        return Ok(None);
    };
    let root = base.root();
    let mut matcher = Matcher::builder().https(proxy.url.expose_secret());
    if let Some(no) = &proxy.no_proxy {
        matcher = matcher.no(no.as_str());
    }
    if let Some(found) = matcher.build().intercept(&root) {
        return Ok(Some(found));
    }
    let exempt = proxy.no_proxy.is_some()
        && Matcher::builder()
            .https(proxy.url.expose_secret())
            .build()
            .intercept(&root)
            .is_some();
    if exempt {
        tracing::info!("NO_PROXY exempts Basiq: calls to Basiq go direct");
        Ok(None)
    } else {
        anyhow::bail!("{}: the proxy URL cannot be used", proxy.var)
    }
}

/// A proxy's address for a log line: no user or password.
fn without_credentials(uri: &Uri) -> String {
    match uri.authority() {
        Some(a) => {
            let host = a.as_str().rsplit('@').next().unwrap_or_default();
            format!("{}://{host}", uri.scheme_str().unwrap_or("http"))
        }
        None => "-".into(),
    }
}

pub const USER_AGENT: HeaderValue =
    HeaderValue::from_static(concat!("basiq-bff/", env!("CARGO_PKG_VERSION")));
pub const BASIQ_VERSION: HeaderValue = HeaderValue::from_static("3.0");
pub const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A request to Basiq with the headers every call carries.
pub fn request(method: hyper::Method, uri: Uri) -> hyper::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::USER_AGENT, USER_AGENT)
        .header("basiq-version", BASIQ_VERSION)
        .header(header::ACCEPT, JSON)
}

/// The largest answer read from Basiq. Its largest, a 500-row transactions page with
/// enrichment, is a few MB; a runaway answer must not take the process's memory with it.
pub const MAX_ANSWER_BYTES: usize = 32 << 20;

/// Basiq's whole answer.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// One attempt: sends `req` and reads the whole answer within `timeout`, and counts it.
pub async fn send(
    http: &HttpClient,
    endpoint: &'static str,
    req: Request<Full<Bytes>>,
    timeout: Duration,
) -> Result<Answer, BasiqError> {
    let started = Instant::now();
    let result = tokio::time::timeout(timeout, async {
        let response = http.request(req).await.map_err(|e| failure(endpoint, &e))?;
        let (parts, body) = response.into_parts();
        let body = match Limited::new(body, MAX_ANSWER_BYTES).collect().await {
            Ok(body) => body.to_bytes(),
            // A refusal is a refusal even if its explanation was cut short.
            Err(_) if !parts.status.is_success() => Bytes::new(),
            Err(e) if e.is::<LengthLimitError>() => {
                return Err(BasiqError::Malformed {
                    endpoint,
                    cause: format!("the answer is larger than {} MiB", MAX_ANSWER_BYTES >> 20),
                });
            }
            Err(e) => return Err(failure(endpoint, &*e)),
        };
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
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

/// A transport failure: a timeout anywhere in its causes (connecting included) is a
/// [`BasiqError::Timeout`]; anything else is Basiq unreachable, with the causes on one line
/// (hyper's own message is only "client error (Connect)"). None of them carries a URL or a
/// header.
fn failure(endpoint: &'static str, e: &(dyn std::error::Error + 'static)) -> BasiqError {
    let mut cause = e.to_string();
    let mut timed_out = false;
    let mut source = e.source();
    while let Some(s) = source {
        timed_out |= s
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut);
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
    fn calls_go_under_the_base_address_with_their_query() {
        let base = |s: &str| Base::new(&Url::parse(s).unwrap()).unwrap();
        let b = base("http://127.0.0.1:9/api/");
        assert_eq!(
            b.uri(
                "test",
                "/users/u1/transactions",
                Some("limit=5&filter=account.id.eq(%27a%27)")
            )
            .unwrap()
            .to_string(),
            "http://127.0.0.1:9/api/users/u1/transactions?limit=5&filter=account.id.eq(%27a%27)"
        );
        let b = base("https://au-api.basiq.io");
        assert_eq!(
            b.uri("test", "/token", None).unwrap().to_string(),
            "https://au-api.basiq.io/token"
        );
        assert_eq!(
            b.uri("test", "/users", Some("")).unwrap().to_string(),
            "https://au-api.basiq.io/users"
        );
    }

    #[test]
    fn a_path_cannot_smuggle_a_query_or_a_fragment() {
        let b = Base::new(&Url::parse("https://au-api.basiq.io").unwrap()).unwrap();
        assert_eq!(
            b.uri("test", "/users/a?b#c d%/accounts", None)
                .unwrap()
                .to_string(),
            "https://au-api.basiq.io/users/a%3Fb%23c%20d%25/accounts"
        );
    }

    #[test]
    fn a_proxy_that_cannot_be_used_is_an_error_never_a_direct_call() {
        let base = Base::new(&Url::parse("https://au-api.basiq.io").unwrap()).unwrap();
        let proxy = |url: &str, no: Option<&str>| EgressProxy {
            var: "HTTPS_PROXY",
            url: url.to_owned().into(),
            no_proxy: no.map(str::to_owned),
        };
        let error = intercept(&base, Some(&proxy("http://bad host:3128", None))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "HTTPS_PROXY: the proxy URL cannot be used"
        );
        // Exempted by NO_PROXY: direct, as asked.
        let exempt = proxy("http://proxy.internal:3128/", Some("basiq.io"));
        assert!(intercept(&base, Some(&exempt)).unwrap().is_none());
        let used = proxy("http://proxy.internal:3128/", Some("example.com"));
        assert!(intercept(&base, Some(&used)).unwrap().is_some());
    }

    #[test]
    fn a_proxy_is_logged_without_its_credentials() {
        let uri: Uri = "http://user:secret@proxy.internal:3128".parse().unwrap();
        assert_eq!(without_credentials(&uri), "http://proxy.internal:3128");
    }
}

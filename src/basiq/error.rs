use axum::http::StatusCode;

/// A failed call to Basiq. `Display` is for logs: it carries Basiq's `correlationId` and code,
/// never a token or key. What the client sees comes from [`BasiqError::public_view`].
#[derive(Debug, thiserror::Error)]
pub enum BasiqError {
    #[error(
        "basiq answered {status} {endpoint} code={} correlationId={}: {}",
        code.as_deref().unwrap_or("-"),
        correlation_id.as_deref().unwrap_or("-"),
        detail.as_deref().unwrap_or("-")
    )]
    Status {
        endpoint: &'static str,
        status: u16,
        code: Option<String>,
        detail: Option<String>,
        correlation_id: Option<String>,
        retry_after: Option<u64>,
    },
    #[error("basiq {endpoint} timed out")]
    Timeout { endpoint: &'static str },
    #[error("basiq {endpoint} unreachable: {cause}")]
    Unreachable {
        endpoint: &'static str,
        cause: String,
    },
    #[error("basiq {endpoint} sent a body we could not read: {cause}")]
    Malformed {
        endpoint: &'static str,
        cause: String,
    },
    #[error("no valid Basiq server token: {0}")]
    TokenUnavailable(String),
}

impl BasiqError {
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Status { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::Status {
                status: 429,
                retry_after,
                ..
            } => Some(retry_after.unwrap_or(60)),
            _ => None,
        }
    }

    /// Status, stable code, title and detail for the client. Nothing of Basiq's text leaks.
    pub fn public_view(&self) -> (StatusCode, &'static str, &'static str, &'static str) {
        use StatusCode as S;
        match self {
            Self::Status { status: 404, .. } => (
                S::NOT_FOUND,
                "not_found",
                "Not found",
                "No such resource for this user.",
            ),
            Self::Status { status: 429, .. } => (
                S::TOO_MANY_REQUESTS,
                "upstream_rate_limited",
                "Basiq is rate limiting us",
                "Basiq asked us to slow down; retry after the given delay.",
            ),
            Self::Status { status: 503, .. } | Self::Unreachable { .. } => (
                S::SERVICE_UNAVAILABLE,
                "upstream_unavailable",
                "Basiq unavailable",
                "Basiq is unavailable right now; retry shortly.",
            ),
            Self::Status { status, .. } if *status >= 500 => (
                S::BAD_GATEWAY,
                "upstream_error",
                "Basiq error",
                "Basiq failed to answer this request.",
            ),
            Self::Status { .. } => (
                S::BAD_GATEWAY,
                "upstream_rejected",
                "Basiq rejected the request",
                "Basiq refused a request we made on your behalf.",
            ),
            Self::Timeout { .. } => (
                S::GATEWAY_TIMEOUT,
                "upstream_timeout",
                "Basiq timed out",
                "Basiq did not answer in time; retry shortly.",
            ),
            Self::Malformed { .. } => (
                S::BAD_GATEWAY,
                "upstream_malformed",
                "Basiq sent an unreadable answer",
                "Basiq answered with something we could not read.",
            ),
            Self::TokenUnavailable(_) => (
                S::SERVICE_UNAVAILABLE,
                "upstream_token_unavailable",
                "Basiq unavailable",
                "We cannot authenticate with Basiq right now; retry shortly.",
            ),
        }
    }
}

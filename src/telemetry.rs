//! The tracing subscriber: JSON lines (with the request span's ids on every line) or pretty;
//! and, while an OTLP endpoint is configured, spans out over OTLP/HTTP.
//!
//! Traces off (no `OTEL_EXPORTER_OTLP_ENDPOINT`) is the subscriber as it always was: no
//! OpenTelemetry layer, no exporter, and the request and Basiq paths skip their tracing work
//! after one check of [`traces_on`].

use std::{sync::OnceLock, time::Duration};

use opentelemetry::{
    Context, Key,
    propagation::TextMapPropagator,
    trace::{TraceContextExt as _, TracerProvider as _},
};
use opentelemetry_http::{
    Bytes, HeaderExtractor, HeaderInjector, HttpClient, HttpError, Request, Response,
};
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use reqwest::header::HeaderMap;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::{EnvFilter, fmt, prelude::*, registry::LookupSpan};

use crate::config::LogFormat;

const DEFAULT_FILTER: &str = "info,sqlx=warn,hyper=warn,reqwest=warn";

/// `service.name` unless `OTEL_SERVICE_NAME` (or `OTEL_RESOURCE_ATTRIBUTES`) says otherwise.
pub const SERVICE_NAME: &str = "basiq-bff";

/// One export to the collector, all of it (OTLP's default).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long shutting down waits for the last spans to go out.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Set once, when the OpenTelemetry layer is installed: W3C trace context in and out.
static PROPAGATOR: OnceLock<TraceContextPropagator> = OnceLock::new();

/// What shutting down flushes: the tracer provider, while traces are on.
#[must_use = "call shutdown() so the last spans go out"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still queued (within [`FLUSH_TIMEOUT`]) and stops the exporter.
    pub async fn shutdown(self) {
        let Some(provider) = self.provider else {
            return;
        };
        // Blocking: it waits for the exporter's thread, whose last export runs on this runtime.
        let flushed =
            tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(FLUSH_TIMEOUT))
                .await;
        if let Ok(Err(e)) = flushed {
            tracing::warn!(error = %e, "the last spans may not have reached the collector");
        }
    }
}

/// The service's subscriber. With `exporter` (traces on: see `Settings::traces`), spans also
/// go out over OTLP/HTTP through that client, configured by the SDK from the standard
/// `OTEL_*` variables. Must run inside the tokio runtime.
pub fn init(format: LogFormat, exporter: Option<reqwest::Client>) -> anyhow::Result<Telemetry> {
    let filter = filter(DEFAULT_FILTER);
    let registry = tracing_subscriber::registry().with(filter);
    let Some(http) = exporter else {
        install(registry, format, std::io::stdout);
        return Ok(Telemetry { provider: None });
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_http_client(Export {
            http,
            runtime: tokio::runtime::Handle::current(),
        })
        .build()?;
    // The batch processor reads `OTEL_BSP_*`, the provider `OTEL_TRACES_SAMPLER` and
    // `OTEL_TRACES_SAMPLER_ARG`.
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource())
        .build();
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(SERVICE_NAME))
        // Busy and idle times per span: not worth an `Instant::now()` on every poll.
        .with_tracked_inactivity(false);
    install(registry.with(layer), format, std::io::stdout);
    let _ = PROPAGATOR.set(TraceContextPropagator::new());
    Ok(Telemetry {
        provider: Some(provider),
    })
}

/// For `admin` commands: logs go to stderr (stdout carries the command's results), warnings
/// and errors only unless `RUST_LOG` says otherwise. No traces.
pub fn init_admin(format: LogFormat) {
    let registry = tracing_subscriber::registry().with(filter("warn"));
    install(registry, format, std::io::stderr);
}

fn filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
}

fn install<S, W>(subscriber: S, format: LogFormat, writer: W)
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync + 'static,
    W: for<'w> fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    match format {
        LogFormat::Json => subscriber
            .with(
                fmt::layer()
                    .with_writer(writer)
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(true),
            )
            .init(),
        LogFormat::Pretty => subscriber
            .with(fmt::layer().with_writer(writer).pretty())
            .init(),
    }
}

/// `service.name` is ours unless the environment names the service.
fn resource() -> Resource {
    let detected = Resource::builder().build();
    let unnamed = detected
        .get(&Key::from_static_str("service.name"))
        .is_none_or(|name| name.as_str().starts_with("unknown_service"));
    match unnamed {
        true => Resource::builder().with_service_name(SERVICE_NAME).build(),
        false => detected,
    }
}

/// Whether spans go out over OTLP.
pub fn traces_on() -> bool {
    PROPAGATOR.get().is_some()
}

/// Continues the caller's trace: `span` (not yet entered) takes the `traceparent` and
/// `tracestate` of `headers` as its parent. Nothing while traces are off.
pub fn continue_trace(span: &Span, headers: &HeaderMap) {
    let Some(propagator) = PROPAGATOR.get() else {
        return;
    };
    let parent = propagator.extract_with_context(&Context::new(), &HeaderExtractor(headers));
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

/// `traceparent` (and `tracestate`) naming `span`, for a call made in it; `None` while traces
/// are off.
pub fn trace_headers(span: &Span) -> Option<HeaderMap> {
    let propagator = PROPAGATOR.get()?;
    let mut headers = HeaderMap::new();
    propagator.inject_context(&span.context(), &mut HeaderInjector(&mut headers));
    Some(headers)
}

/// The OTLP exporter's HTTP client: ours. The SDK exports from a thread of its own, outside
/// the runtime, where reqwest cannot run: each export is a task on the runtime, awaited from
/// that thread.
#[derive(Debug)]
struct Export {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for Export {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let http = self.http.clone();
        self.runtime
            .spawn(async move {
                tokio::time::timeout(EXPORT_TIMEOUT, http.send_bytes(request))
                    .await
                    .map_err(|_| HttpError::from("the export timed out"))?
            })
            .await?
    }
}

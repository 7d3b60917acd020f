//! The tracing subscriber: JSON lines (with the request span's ids on every line) or pretty.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

const DEFAULT_FILTER: &str = "info,sqlx=warn,hyper=warn,reqwest=warn";

pub fn init(format: LogFormat) {
    install(format, DEFAULT_FILTER, std::io::stdout);
}

/// For `admin` commands: logs go to stderr (stdout carries the command's results), warnings
/// and errors only unless `RUST_LOG` says otherwise.
pub fn init_admin(format: LogFormat) {
    install(format, "warn", std::io::stderr);
}

fn install<W>(format: LogFormat, default_filter: &str, writer: W)
where
    W: for<'w> fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .with_writer(writer)
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_list(true),
            )
            .init(),
        LogFormat::Pretty => registry
            .with(fmt::layer().with_writer(writer).pretty())
            .init(),
    }
}

// The hot path (a transactions page parsed and re-serialised per request) allocates in bursts;
// mimalloc serves that markedly faster than glibc's malloc (see scripts/bench).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use basiq_bff::{
    config::Settings,
    startup::{Application, shutdown_signal},
    telemetry,
};

#[tokio::main]
async fn main() {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("basiq-bff: configuration error: {e}");
            std::process::exit(2);
        }
    };
    telemetry::init(settings.log_format);
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "basiq-bff failed to start");
            eprintln!("basiq-bff: {e:#}");
            std::process::exit(1);
        }
    };
    if let Err(e) = app.run_until(shutdown_signal()).await {
        tracing::error!(error = format!("{e:#}"), "basiq-bff stopped with an error");
        std::process::exit(1);
    }
}

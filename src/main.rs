// The hot path (a transactions page parsed and re-serialised per request) allocates in bursts;
// mimalloc serves that markedly faster than glibc's malloc (see scripts/bench).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use basiq_bff::{
    admin::{self, Cli, Command},
    config::Settings,
    startup::{self, Application},
    telemetry,
};
use clap::Parser;

#[tokio::main]
async fn main() {
    // A command-line error exits 2 with clap's message; `--help` and `--version` exit 0.
    let cli = Cli::parse();
    if let Some(Command::Admin { command }) = &cli.command
        && let Err(e) = command.check()
    {
        eprintln!("basiq-bff admin: {e}");
        std::process::exit(e.exit_code());
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("basiq-bff: configuration error: {e}");
            std::process::exit(2);
        }
    };
    match cli.command {
        None => serve(settings).await,
        Some(Command::Admin { command }) => {
            telemetry::init_admin(settings.log_format);
            let mut stdout = std::io::stdout().lock();
            if let Err(e) = admin::run(command, &settings, &mut stdout).await {
                eprintln!("basiq-bff admin: {e:#}");
                std::process::exit(e.exit_code());
            }
        }
    }
}

async fn serve(settings: Settings) {
    let telemetry = match startup::telemetry(&settings) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("basiq-bff: telemetry: {e:#}");
            std::process::exit(1);
        }
    };
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "basiq-bff failed to start");
            eprintln!("basiq-bff: {e:#}");
            std::process::exit(1);
        }
    };
    let stopped = app.run_until(shutdown::signal()).await;
    telemetry.shutdown().await;
    if let Err(e) = stopped {
        tracing::error!(error = format!("{e:#}"), "basiq-bff stopped with an error");
        std::process::exit(1);
    }
}

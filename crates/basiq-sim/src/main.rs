//! `basiq-sim`: runs the Basiq simulator until ctrl-c or SIGTERM.

use basiq_sim::{self as sim, SimConfig};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let config = match SimConfig::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("basiq-sim: {e}");
            std::process::exit(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let server = match sim::spawn(config).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("basiq-sim: cannot listen: {e}");
            std::process::exit(1);
        }
    };
    println!("basiq-sim listening on {}", server.base_url());
    shutdown::signal().await;
    server.shutdown().await;
}

//! When a process of ours should stop: ctrl-c (SIGINT), or SIGTERM where there is one (what
//! `docker stop` and Kubernetes send). Shared by `basiq-bff` and `basiq-sim`, which stop the
//! same way: they stop accepting, finish what is in flight, then exit.

/// Resolves on the first ctrl-c or SIGTERM. If SIGTERM cannot be listened for, only ctrl-c
/// counts.
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

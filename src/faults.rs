//! Crash points for the durability tests: in a debug build, `BASIQ_BFF_CRASH_AT=<point>` makes
//! the process abort at that point, as a `kill -9` there would, so a test can check what a
//! restart makes of it. Release builds compile them to nothing.

/// Aborts the process here when a debug build was started with `BASIQ_BFF_CRASH_AT=point`.
pub fn crash_point(point: &str) {
    #[cfg(debug_assertions)]
    {
        static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        let at = AT.get_or_init(|| std::env::var("BASIQ_BFF_CRASH_AT").ok());
        if at.as_deref() == Some(point) {
            eprintln!("basiq-bff: crash point {point}: aborting (BASIQ_BFF_CRASH_AT)");
            std::process::abort();
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = point;
}

//! The real `basiq-sim` binary: it stops on SIGTERM, as `docker stop` sends it.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

#[tokio::test]
async fn the_binary_serves_until_sigterm_then_exits_cleanly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_basiq-sim"))
        .env_clear()
        .env("BASIQ_SIM_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the basiq-sim binary starts");
    // It prints where it listens once it does.
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("basiq-sim listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    reqwest::get(format!("{base}/institutions"))
        .await
        .expect("it answers while it runs");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut status = None;
    for _ in 0..100 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = status.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("basiq-sim did not exit within 5 s of SIGTERM")
    });
    // Killed by the signal instead of stopping on it, it would not exit with 0.
    assert!(status.success(), "exit status {status}");
    assert!(
        reqwest::get(format!("{base}/institutions")).await.is_err(),
        "nothing listens after it exits"
    );
}

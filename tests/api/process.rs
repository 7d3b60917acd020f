//! The real binary: graceful shutdown on SIGTERM, and JSON logs.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use basiq_sim::SimConfig;
use serde_json::{Value, json};

use crate::helpers::{JWT_SECRET, RETURN_TO, free_port, fresh_database, jwt_for};

#[tokio::test]
async fn sigterm_during_a_slow_upstream_call_still_answers_it_ends_event_streams_and_exits_cleanly()
{
    let sim = basiq_sim::spawn(SimConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let database = fresh_database().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_basiq-bff"))
        .env_clear()
        .env("DATABASE_URL", &database.url)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("PUBLIC_BASE_URL", &base)
        .env("BASIQ_API_URL", sim.base_url())
        .env("BASIQ_API_KEY", "sim-api-key")
        .env("APP_JWT_SECRET", JWT_SECRET)
        .env("ALLOWED_RETURN_URLS", "https://app.example.com")
        .env(
            "DATA_ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the basiq-bff binary starts");
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(ready, "the binary became ready");

    // Creating the Basiq user will take 1.5 s.
    http.post(format!("{}/__sim/faults", sim.base_url()))
        .json(&json!({"path": "/users", "method": "POST", "latencyMs": 1500, "status": 200}))
        .send()
        .await
        .unwrap();
    let token = jwt_for("alice");
    let in_flight = tokio::spawn({
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            http.post(format!("{base}/v1/consent"))
                .bearer_auth(token)
                .json(&json!({"returnTo": RETURN_TO}))
                .send()
                .await
        }
    });
    // An open event stream, which would hold the process open if it did not end.
    let mut stream = http
        .get(format!("{base}/v1/events"))
        .bearer_auth(jwt_for("bob"))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    let answer = in_flight
        .await
        .unwrap()
        .expect("the request in flight is answered");
    assert_eq!(answer.status(), 200);
    let request_id = answer.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the event stream ends on SIGTERM");
    let mut exited = None;
    for _ in 0..200 {
        if let Some(status) = child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let status = exited.expect("the process exits after SIGTERM");
    assert!(status.success(), "exit status {status}");
    assert!(
        http.get(format!("{base}/healthz")).send().await.is_err(),
        "no longer listening"
    );

    // JSON logs: every line inside a request carries its request id; no secret appears.
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .collect();
    let mut in_request = 0;
    for line in &lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        if let Some(spans) = v["spans"].as_array()
            && spans.iter().any(|s| s["name"] == "request")
        {
            in_request += 1;
            assert!(
                spans.iter().any(|s| s["request_id"].is_string()),
                "a request's line without its id: {line}"
            );
        }
        for secret in [token.as_str(), "sim-api-key", JWT_SECRET] {
            assert!(!line.contains(secret), "a secret in the logs: {line}");
        }
    }
    assert!(in_request > 0);
    assert!(
        lines.iter().any(|l| l.contains(&request_id)),
        "the consent request's lines carry its id"
    );
    assert!(lines.iter().any(|l| l.contains("shutting down")));
}

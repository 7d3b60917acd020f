//! Production edges: upstream faults, rate limits, CORS, security headers, metrics.

use std::time::{Duration, Instant};

use basiq_bff::basiq::UpstreamPolicy;
use serde_json::json;

use crate::helpers::{RETURN_TO, Setup, TestApp, spawn_app, spawn_app_with};

/// Short deadlines, so a fault is answered quickly.
async fn app_with_short_deadlines() -> TestApp {
    let mut setup = Setup::default();
    setup.options.upstream_policy = UpstreamPolicy {
        attempt_timeout: Duration::from_millis(400),
        deadline: Duration::from_millis(1200),
        retry_base: Duration::from_millis(20),
        ..UpstreamPolicy::default()
    };
    let app = spawn_app_with(setup).await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    app
}

fn attempts(requests: &[serde_json::Value], path_end: &str) -> usize {
    requests
        .iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with(path_end))
        .count()
}

#[tokio::test]
async fn each_upstream_fault_becomes_its_problem_in_time() {
    let app = app_with_short_deadlines().await;
    for (fault, status, code) in [
        (
            json!({"path": "/accounts", "status": 503}),
            503,
            "upstream_unavailable",
        ),
        (
            json!({"path": "/accounts", "status": 500}),
            502,
            "upstream_error",
        ),
        (
            json!({"path": "/accounts", "status": 429}),
            429,
            "upstream_rate_limited",
        ),
        (
            json!({"path": "/accounts", "status": 200, "body": "{not json"}),
            502,
            "upstream_malformed",
        ),
        (
            json!({"path": "/accounts", "latencyMs": 5000, "status": 200}),
            504,
            "upstream_timeout",
        ),
    ] {
        app.sim_delete("/__sim/faults").await;
        app.sim_post("/__sim/faults", fault.clone()).await;
        let started = Instant::now();
        let a = app.get("/v1/accounts", "alice").await;
        let took = started.elapsed();
        assert_eq!(a.status, status, "{fault}: {:?}", a.body);
        assert_eq!(a.body["code"], code, "{fault}");
        a.problem_field();
        assert!(
            took < Duration::from_millis(2500),
            "{fault}: answered in {took:?}"
        );
        if status == 429 {
            assert!(a.headers.contains_key("retry-after"));
        }
        let text = a.body.to_string();
        assert!(
            !text.contains("basiq-sim") && !text.contains("correlation"),
            "nothing raw leaks: {text}"
        );
    }
}

#[tokio::test]
async fn idempotent_reads_are_retried_and_writes_are_not() {
    let app = app_with_short_deadlines().await;
    app.sim_post("/__sim/faults", json!({"path": "/accounts", "status": 503}))
        .await;
    let before = attempts(&app.sim_requests().await, "/accounts");
    assert_eq!(app.get("/v1/accounts", "alice").await.status, 503);
    let tried = attempts(&app.sim_requests().await, "/accounts") - before;
    assert_eq!(tried, 3, "a read is tried three times");

    app.sim_delete("/__sim/faults").await;
    app.sim_post(
        "/__sim/faults",
        json!({"path": "/users", "method": "POST", "status": 503}),
    )
    .await;
    let creations = |requests: Vec<serde_json::Value>| {
        requests
            .iter()
            .filter(|r| r["method"] == "POST" && r["path"] == "/users")
            .count()
    };
    let before = creations(app.sim_requests().await);
    let a = app
        .post("/v1/consent", "newcomer", json!({"returnTo": RETURN_TO}))
        .await;
    assert_eq!(a.status, 503);
    let tried = creations(app.sim_requests().await) - before;
    assert_eq!(tried, 1, "creating a user is never retried blindly");
}

#[tokio::test]
async fn the_rate_limit_hits_one_user_and_not_another() {
    let app = spawn_app_with(Setup {
        env: vec![("RATE_LIMIT_PER_MINUTE", "5".into())],
        ..Setup::default()
    })
    .await;
    for _ in 0..5 {
        assert_eq!(app.get("/v1/me", "alice").await.status, 200);
    }
    let limited = app.get("/v1/me", "alice").await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.body["code"], "rate_limited");
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(
        app.get("/v1/me", "bob").await.status,
        200,
        "bob is not limited"
    );
}

#[tokio::test]
async fn consent_links_are_capped_per_user() {
    let app = spawn_app().await;
    for i in 0..10 {
        let a = app
            .post("/v1/consent", "alice", json!({"returnTo": RETURN_TO}))
            .await;
        assert_eq!(a.status, 200, "link {i}");
    }
    let capped = app
        .post("/v1/consent", "alice", json!({"returnTo": RETURN_TO}))
        .await;
    assert_eq!(capped.status, 429);
    assert_eq!(capped.body["code"], "consent_rate_limited");
    assert!(capped.headers.contains_key("retry-after"));
    let other = app
        .post("/v1/consent", "bob", json!({"returnTo": RETURN_TO}))
        .await;
    assert_eq!(other.status, 200);
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let app = spawn_app_with(Setup {
        env: vec![("CORS_ALLOWED_ORIGINS", "https://app.example.com".into())],
        ..Setup::default()
    })
    .await;
    let preflight = |origin: &'static str| {
        app.http
            .request(
                reqwest::Method::OPTIONS,
                format!("{}/v1/accounts", app.base),
            )
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let methods = allowed.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("GET"));
    // A fetch-based event stream resumes with Last-Event-ID.
    let headers = allowed.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(headers.contains("last-event-id"), "{headers}");
    let denied = preflight("https://evil.example.com").await.unwrap();
    assert!(!denied.headers().contains_key("access-control-allow-origin"));
    let r = app
        .http
        .get(format!("{}/v1/me", app.base))
        .header("origin", "https://evil.example.com")
        .bearer_auth(crate::helpers::jwt_for("alice"))
        .send()
        .await
        .unwrap();
    assert!(!r.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn answers_carry_security_headers() {
    let app = spawn_app().await;
    let a = app.get("/v1/me", "alice").await;
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(a.headers[name], value, "{name}");
    }
    assert!(
        a.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
}

#[tokio::test]
async fn metrics_appear_after_traffic() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let accounts = app.get("/v1/accounts", "alice").await;
    let account_id = accounts.body["data"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&format!("/v1/accounts/{account_id}"), "alice")
            .await
            .status,
        200
    );
    // The watcher counts the job's outcome once it sees it settled.
    let mut text = String::new();
    for _ in 0..100 {
        text = reqwest::get(format!("{}/metrics", app.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("basiq_job_outcomes_total") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for expected in [
        r#"http_requests_total{method="GET",route="/v1/accounts",status="200"}"#,
        "http_request_duration_seconds_bucket",
        r#"basiq_requests_total{endpoint="GET /users/{id}/accounts",status="200"}"#,
        "basiq_request_duration_seconds_bucket",
        "basiq_server_token_age_seconds",
        "basiq_server_token_valid 1",
        "basiq_server_token_refresh_failures_total",
        r#"basiq_job_outcomes_total{status="succeeded",institution="AU00000"}"#,
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(
        text.contains(r#"route="/v1/accounts/{"#),
        "the route template is the label"
    );
    assert!(!text.contains(&account_id), "raw paths never become labels");

    // Nor do made-up methods.
    let brew = reqwest::Method::from_bytes(b"BREWCOFFEE").unwrap();
    let r = reqwest::Client::new()
        .request(brew, format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let text = reqwest::get(format!("{}/metrics", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("BREWCOFFEE"), "{text}");
    assert!(
        text.contains(r#"http_requests_total{method="other",route="/healthz",status="405"}"#),
        "{text}"
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let app = spawn_app().await;
    let huge = "x".repeat(32 * 1024);
    let a = app
        .post(
            "/v1/consent",
            "alice",
            json!({"returnTo": RETURN_TO, "email": huge}),
        )
        .await;
    assert_eq!(a.status, 413, "{:?}", a.body);
    assert_eq!(a.body["code"], "payload_too_large");
    a.problem_field();
}

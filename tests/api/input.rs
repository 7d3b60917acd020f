//! Input rules every route shares: query parameters, JSON bodies, bodies that never arrive.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{RETURN_TO, jwt_for, spawn_app};

#[tokio::test]
async fn every_documented_route_refuses_an_unknown_query_parameter_and_names_it() {
    let app = spawn_app().await;
    let doc: Value = reqwest::get(format!("{}/openapi.json", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut checked = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        // Basiq's Consent UI may add parameters of its own to the browser's way back.
        if path == "/v1/consent/callback" {
            continue;
        }
        let concrete = path
            .split('/')
            .map(|s| if s.starts_with('{') { "abc" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        for method in operations.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app
                .http
                .request(method.clone(), format!("{}{concrete}?bogus=1", app.base))
                .bearer_auth(jwt_for("alice"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400, "{method} {path}");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["field"], "bogus", "{method} {path}: {body}");
            checked += 1;
        }
    }
    assert!(checked >= 15, "checked {checked} operations");
    // The docs page and its spec, too.
    for path in ["/openapi.json?x=1", "/docs/?x=1"] {
        let r = app
            .http
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{path}");
    }
}

#[tokio::test]
async fn a_json_body_with_content_after_the_value_is_refused() {
    let app = spawn_app().await;
    for body in [
        format!(r#"{{"returnTo":"{RETURN_TO}"}} xyz"#),
        format!(r#"{{"returnTo":"{RETURN_TO}"}}{{}}"#),
    ] {
        let r = app
            .http
            .post(format!("{}/v1/consent", app.base))
            .bearer_auth(jwt_for("alice"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["field"], "body", "{body}");
    }
    // Trailing whitespace is fine.
    let r = app
        .http
        .post(format!("{}/v1/consent", app.base))
        .bearer_auth(jwt_for("alice"))
        .header("content-type", "application/json")
        .body(format!("{{\"returnTo\":\"{RETURN_TO}\"}} \n"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_body_that_never_arrives_is_answered_408_within_ten_seconds() {
    let app = spawn_app().await;
    let mut stream = TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /v1/consent HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"returnTo\":",
        jwt_for("alice")
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(15), stream.read(&mut buf))
            .await
            .expect("answered in time")
            .unwrap();
        assert!(n > 0, "answered before closing");
        answer.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(12));
}

#[tokio::test]
async fn an_email_or_mobile_made_to_look_like_another_is_a_400_naming_it_and_never_reaches_basiq() {
    let app = spawn_app().await;
    for (field, value) in [
        // A right-to-left override, a zero-width space, a Cyrillic "а" among Latin letters.
        ("email", "alice\u{202e}@example.com"),
        ("email", "al\u{200b}ice@example.com"),
        ("email", "alice@p\u{430}ypal.com"),
        // Too few digits for any country; a country code no country has.
        ("mobile", "+12345678"),
        ("mobile", "+2801234567"),
    ] {
        let a = app
            .post(
                "/v1/consent",
                "alice",
                serde_json::json!({"returnTo": RETURN_TO, field: value}),
            )
            .await;
        assert_eq!(a.status, 400, "{value:?}: {:?}", a.body);
        assert_eq!(a.problem_field(), Some(field), "{value:?}");
        let a = app
            .patch("/v1/me", "alice", serde_json::json!({field: value}))
            .await;
        assert_eq!(a.status, 400, "{value:?}: {:?}", a.body);
        assert_eq!(a.problem_field(), Some(field), "{value:?}");
    }
    let users_calls = app
        .sim_requests()
        .await
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/users")))
        .count();
    assert_eq!(users_calls, 0, "nothing reached Basiq");
}

#[tokio::test]
async fn a_json_body_without_a_json_content_type_is_a_415_on_every_route_and_documented_so() {
    let app = spawn_app().await;
    let doc: Value = reqwest::get(format!("{}/openapi.json", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut refused = Vec::new();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .split('/')
            .map(|s| if s.starts_with('{') { "abc" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        for (method, operation) in operations.as_object().unwrap() {
            if operation["requestBody"].is_null() {
                continue;
            }
            let documented = !operation["responses"]["415"].is_null();
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for content_type in [None, Some("text/plain"), Some("application/jsonx")] {
                let mut request = app
                    .http
                    .request(method.clone(), format!("{}{concrete}", app.base))
                    .bearer_auth(jwt_for("alice"))
                    .body(format!(r#"{{"returnTo":"{RETURN_TO}"}}"#));
                if let Some(content_type) = content_type {
                    request = request.header("content-type", content_type);
                }
                let r = request.send().await.unwrap();
                let status = r.status().as_u16();
                assert_eq!(
                    status == 415,
                    documented,
                    "{method} {path} with {content_type:?}: {status}, 415 documented: {documented}"
                );
                if status == 415 {
                    let problem: Value = r.json().await.unwrap();
                    assert_eq!(problem["code"], "unsupported_media_type");
                    assert_eq!(problem["field"], "Content-Type");
                }
            }
            if documented {
                refused.push(format!("{method} {path}"));
            }
        }
    }
    refused.sort();
    assert_eq!(
        refused,
        [
            "PATCH /v1/me",
            "POST /v1/consent",
            "POST /v1/jobs/{jobId}/mfa"
        ]
    );
}

//! Tokens: key check, scopes, expiry, and the `basiq-version` header.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn a_wrong_api_key_is_answered_404_unable_to_authenticate() {
    let sim = spawn_sim().await;
    let r = sim
        .token_response("not-the-key", &[("scope", "SERVER_ACCESS")])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: Value = r.json().await.unwrap();
    assert_eq!(error_of(&body).0, "resource-not-found");
    assert_eq!(body["data"][0]["detail"], "Unable to authenticate");
}

#[tokio::test]
async fn a_token_request_without_basiq_version_is_answered_400_parameter_not_valid() {
    let sim = spawn_sim().await;
    let r = sim
        .http
        .post(sim.url("/token"))
        .header("authorization", format!("Basic {KEY}"))
        .form(&[("scope", "SERVER_ACCESS")])
        .send()
        .await
        .unwrap();
    assert_parameter_not_valid(r, "basiq-version").await;
}

#[tokio::test]
async fn a_token_request_with_an_unknown_basiq_version_is_answered_400_parameter_not_valid() {
    let sim = spawn_sim().await;
    let r = sim
        .http
        .post(sim.url("/token"))
        .header("basiq-version", "9.9")
        .header("authorization", format!("Basic {KEY}"))
        .form(&[("scope", "SERVER_ACCESS")])
        .send()
        .await
        .unwrap();
    assert_parameter_not_valid(r, "basiq-version").await;
}

#[tokio::test]
async fn calls_after_the_token_are_served_with_or_without_basiq_version() {
    let sim = spawn_sim().await;
    let (token, user, connection) = sim.connected_user().await;
    let job = sim.get(&token, &format!("/users/{user}/jobs")).await.1["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reads = [
        "/connectors".to_owned(),
        format!("/users/{user}"),
        format!("/users/{user}/consents"),
        format!("/jobs/{job}"),
        format!("/users/{user}/connections"),
        format!("/users/{user}/connections/{connection}"),
        format!("/users/{user}/accounts"),
        format!("/users/{user}/transactions?limit=5"),
    ];
    // Basiq's own quickstart creates users without the header; an unknown value is ignored
    // like a missing one, since the token already says which version the caller speaks.
    for version in [None, Some("9.9")] {
        for path in &reads {
            let (status, body) = sim
                .send_with_version(reqwest::Method::GET, version, &token, path, None)
                .await;
            assert_eq!(status, StatusCode::OK, "{version:?} {path}: {body}");
        }
        let (status, body) = sim
            .send_with_version(
                reqwest::Method::POST,
                version,
                &token,
                "/users",
                Some(serde_json::json!({ "email": "no-version@hooli.test" })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{version:?}: {body}");
    }
}

/// A 400 `parameter-not-valid` naming `parameter`.
async fn assert_parameter_not_valid(r: reqwest::Response, parameter: &str) {
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    let (code, source) = error_of(&body);
    assert_eq!(code, "parameter-not-valid");
    assert_eq!(source["parameter"], parameter);
}

#[tokio::test]
async fn a_token_request_that_is_not_a_form_is_answered_400_parameter_not_valid() {
    let sim = spawn_sim().await;
    let r = sim
        .http
        .post(sim.url("/token"))
        .header("basiq-version", "3.0")
        .header("authorization", format!("Basic {KEY}"))
        .json(&serde_json::json!({"scope": "SERVER_ACCESS"}))
        .send()
        .await
        .unwrap();
    assert_parameter_not_valid(r, "Content-Type").await;
}

#[tokio::test]
async fn a_server_token_carries_bearer_type_and_the_configured_lifetime() {
    let sim = spawn_with(SimConfigExt::ttl(Duration::from_secs(1234))).await;
    let r = sim.token_response(KEY, &[("scope", "SERVER_ACCESS")]).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 1234);
    assert!(body["access_token"].as_str().unwrap().len() >= 32);
}

struct SimConfigExt;
impl SimConfigExt {
    fn ttl(ttl: Duration) -> basiq_sim::SimConfig {
        basiq_sim::SimConfig {
            token_ttl: ttl,
            ..config()
        }
    }
}

#[tokio::test]
async fn an_expired_token_is_answered_403_token_has_expired() {
    let sim = spawn_with(SimConfigExt::ttl(Duration::from_millis(150))).await;
    let token = sim.server_token().await;
    let (status, _) = sim.get(&token, "/connectors").await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, body) = sim.get(&token, "/connectors").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_of(&body).0, "access-denied");
    assert_eq!(body["data"][0]["detail"], "Token has expired");
}

#[tokio::test]
async fn expiring_tokens_through_the_control_route_expires_every_token_issued_so_far() {
    let sim = spawn_sim().await;
    let (a, b) = (sim.server_token().await, sim.server_token().await);
    let r = sim
        .http
        .post(sim.url("/__sim/tokens/expire"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    for token in [&a, &b] {
        let (status, body) = sim.get(token, "/connectors").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["data"][0]["detail"], "Token has expired");
    }
    let fresh = sim.server_token().await;
    assert_eq!(sim.get(&fresh, "/connectors").await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_or_missing_token_is_answered_401() {
    let sim = spawn_sim().await;
    let (status, body) = sim.get("made-up", "/connectors").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(&body).0, "invalid-authorization-token");
    let r = sim
        .http
        .get(sim.url("/connectors"))
        .header("basiq-version", "3.0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_client_token_is_refused_on_the_api_with_403() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let user = sim.create_user(&token).await;
    let client = sim.client_token(&user).await;
    for path in [
        format!("/users/{user}"),
        format!("/users/{user}/accounts"),
        "/connectors".to_owned(),
    ] {
        let (status, body) = sim.get(&client, &path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(error_of(&body).0, "access-denied");
    }
}

#[tokio::test]
async fn a_client_token_needs_an_existing_user_and_a_known_scope() {
    let sim = spawn_sim().await;
    let r = sim
        .token_response(KEY, &[("scope", "CLIENT_ACCESS"), ("userId", "ghost")])
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(error_of(&body).1["parameter"], "userId");
    let r = sim.token_response(KEY, &[("scope", "CLIENT_ACCESS")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(error_of(&body).0, "parameter-not-supplied");
}

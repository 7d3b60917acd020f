//! Users: validation, update, deletion, and isolation between users.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn creating_a_user_needs_an_email_or_a_mobile() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let (status, body) = sim
        .post(&token, "/users", Some(json!({ "firstName": "Erlich" })))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).0, "parameter-not-supplied");
    let (status, _) = sim
        .post(&token, "/users", Some(json!({ "mobile": "+61400000000" })))
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn an_invalid_email_is_answered_400_parameter_not_valid() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let (status, body) = sim
        .post(&token, "/users", Some(json!({ "email": "not-an-email" })))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).0, "parameter-not-valid");
}

#[tokio::test]
async fn malformed_json_is_answered_400_in_basiq_envelope() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let r = sim
        .http
        .post(sim.url("/users"))
        .header("basiq-version", "3.0")
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"email\":")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = r.json().await.unwrap();
    assert_eq!(error_of(&body).0, "invalid-content");
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_answer_in_basiq_envelope() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let (status, body) = sim.get(&token, "/no/such/route").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_of(&body).0, "resource-not-found");
    let (status, body) = sim.send(reqwest::Method::PUT, &token, "/users", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    error_of(&body);
}

#[tokio::test]
async fn a_user_is_updated_through_post() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let user = sim.create_user(&token).await;
    let (status, body) = sim
        .post(
            &token,
            &format!("/users/{user}"),
            Some(json!({ "firstName": "Gavin", "lastName": "Belson" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["firstName"], "Gavin");
    let (_, read) = sim.get(&token, &format!("/users/{user}")).await;
    assert_eq!(read["name"], "Gavin Belson");
    assert_eq!(read["email"], "gavin@hooli.test");
}

#[tokio::test]
async fn deleting_a_user_removes_its_connections_and_data() {
    let sim = spawn_sim().await;
    let (token, user, connection) = sim.connected_user().await;
    let (status, accounts) = sim.get(&token, &format!("/users/{user}/accounts")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!accounts["data"].as_array().unwrap().is_empty());
    let (status, _) = sim.delete(&token, &format!("/users/{user}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for path in [
        format!("/users/{user}"),
        format!("/users/{user}/accounts"),
        format!("/users/{user}/transactions"),
        format!("/users/{user}/connections/{connection}"),
    ] {
        assert_eq!(
            sim.get(&token, &path).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn another_users_ids_answer_404() {
    let sim = spawn_sim().await;
    let (token, owner, connection) = sim.connected_user().await;
    let intruder = sim.create_user(&token).await;
    let (_, accounts) = sim.get(&token, &format!("/users/{owner}/accounts")).await;
    let account = accounts["data"][0]["id"].as_str().unwrap();
    let (_, txs) = sim
        .get(&token, &format!("/users/{owner}/transactions?limit=1"))
        .await;
    let tx = txs["data"][0]["id"].as_str().unwrap();
    assert_eq!(
        sim.get(&token, &format!("/users/{owner}/accounts/{account}"))
            .await
            .0,
        StatusCode::OK
    );
    for path in [
        format!("/users/{intruder}/accounts/{account}"),
        format!("/users/{intruder}/transactions/{tx}"),
        format!("/users/{intruder}/connections/{connection}"),
    ] {
        assert_eq!(
            sim.get(&token, &path).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let (status, _) = sim
        .post(
            &token,
            &format!("/users/{intruder}/connections/{connection}/refresh"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

//! Control routes: recorded requests, faults, and server lifecycle.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::schema;

async fn add_fault(sim: &TestSim, fault: Value) {
    let r = sim
        .http
        .post(sim.url("/__sim/faults"))
        .json(&fault)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

async fn clear_faults(sim: &TestSim) {
    let r = sim
        .http
        .delete(sim.url("/__sim/faults"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

#[tokio::test]
async fn requests_are_recorded_oldest_first_without_control_calls() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    sim.get(&token, "/connectors?x=1").await;
    sim.get(&token, "/users/nobody").await;
    let list: Vec<Value> = sim
        .http
        .get(sim.url("/__sim/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list,
        vec![
            json!({ "method": "POST", "path": "/token", "query": null, "status": 200 }),
            json!({ "method": "GET", "path": "/connectors", "query": "x=1", "status": 200 }),
            json!({ "method": "GET", "path": "/users/nobody", "query": null, "status": 404 }),
        ]
    );
}

#[tokio::test]
async fn a_fault_answers_its_status_in_basiq_envelope_until_cleared() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    add_fault(&sim, json!({ "path": "/connectors" })).await;
    let (status, body) = sim.get(&token, "/connectors").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_of(&body).0, "service-unavailable");
    add_fault(&sim, json!({ "path": "/token", "status": 500 })).await;
    let r = sim.token_response(KEY, &[("scope", "SERVER_ACCESS")]).await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    clear_faults(&sim).await;
    assert_eq!(sim.get(&token, "/connectors").await.0, StatusCode::OK);
    let list: Vec<Value> = sim
        .http
        .get(sim.url("/__sim/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[1]["status"], 503);
}

#[tokio::test]
async fn a_fault_filters_on_method_and_can_only_add_latency() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let user = sim.create_user(&token).await;
    add_fault(
        &sim,
        json!({ "path": "/users/", "method": "delete", "status": 429 }),
    )
    .await;
    assert_eq!(
        sim.get(&token, &format!("/users/{user}")).await.0,
        StatusCode::OK
    );
    let (status, body) = sim.delete(&token, &format!("/users/{user}")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_of(&body).0, "too-many-requests");
    clear_faults(&sim).await;

    add_fault(
        &sim,
        json!({ "path": "/connectors", "status": 200, "latencyMs": 300 }),
    )
    .await;
    let started = Instant::now();
    let (status, body) = sim.get(&token, "/connectors").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(status, StatusCode::OK);
    assert!(body["data"].is_array());
}

#[tokio::test]
async fn a_fault_with_rate_zero_never_fires_and_a_body_fault_sends_it_verbatim() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    add_fault(
        &sim,
        json!({ "path": "/connectors", "status": 503, "rate": 0.0 }),
    )
    .await;
    for _ in 0..30 {
        assert_eq!(sim.get(&token, "/connectors").await.0, StatusCode::OK);
    }
    clear_faults(&sim).await;
    add_fault(
        &sim,
        json!({ "path": "/connectors", "body": "{\"type\":\"li" }),
    )
    .await;
    let r = sim
        .http
        .get(sim.url("/connectors"))
        .header("basiq-version", "3.0")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "{\"type\":\"li");
}

#[tokio::test]
async fn a_malformed_fault_is_refused() {
    let sim = spawn_sim().await;
    for fault in [
        json!({}),
        json!({ "path": "/x", "rate": 2.0 }),
        json!({ "path": "/x", "status": 99 }),
    ] {
        let r = sim
            .http
            .post(sim.url("/__sim/faults"))
            .json(&fault)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{fault}");
    }
}

#[tokio::test]
async fn a_stopped_simulator_no_longer_answers() {
    let sim = spawn_sim().await;
    let url = sim.url("/__sim/requests");
    assert!(sim.http.get(&url).send().await.is_ok());
    let TestSim { server, .. } = sim;
    let started = Instant::now();
    server.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(reqwest::Client::new().get(&url).send().await.is_err());
}

async fn change(sim: &TestSim, user: &str, body: Value) -> (StatusCode, Value) {
    let r = sim
        .http
        .post(sim.url(&format!("/__sim/users/{user}/transactions")))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_users_transactions_change_on_demand_as_a_banks_do_and_still_conform() {
    let sim = spawn_sim().await;
    let (token, user, _) = sim.connected_user().await;
    let path = format!("/users/{user}/transactions");
    let before = sim.all_transactions(&token, &path).await;
    let pending: Vec<&Value> = before.iter().filter(|t| t["status"] == "pending").collect();
    assert!(pending.len() >= 2, "the bank has pending transactions");
    let (posting, kept) = (pending[0]["id"].clone(), pending[1]["id"].clone());
    let posted_id = |t: &Value| t["id"].as_str().unwrap().to_owned();
    let (amended, removed) = (posted_id(&before[5]), posted_id(&before[6]));

    let (status, done) = change(
        &sim,
        &user,
        json!({
            "post": [{"id": posting, "amount": "-57.50"}, {"id": kept, "keepPending": true}],
            "amend": [{"id": amended, "description": "AMENDED", "amount": "-1.23"}],
            "add": [{"count": 3, "description": "NEW SHOP", "amount": "-4.50", "pending": true}],
            "remove": [removed],
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let after = sim.all_transactions(&token, &path).await;
    let by_id = |id: &Value| after.iter().find(|t| t["id"] == *id).cloned();
    let first_posted = &done["posted"][0]["postedId"];
    // The pending one is gone, its posted copy (a new id, same purchase) is there.
    assert!(by_id(&posting).is_none());
    let copy = by_id(first_posted).expect("the posted copy is listed");
    assert_eq!(copy["status"], "posted");
    assert_eq!(copy["amount"], "-57.50");
    assert!(!copy["postDate"].is_null());
    // Kept beside its copy, as Basiq sometimes lists both.
    assert!(by_id(&kept).is_some() && by_id(&done["posted"][1]["postedId"]).is_some());
    let amended = by_id(&json!(amended)).unwrap();
    assert_eq!(
        (&amended["description"], &amended["amount"]),
        (&json!("AMENDED"), &json!("-1.23"))
    );
    assert!(by_id(&json!(removed)).is_none());
    let added = done["added"].as_array().unwrap();
    assert_eq!(added.len(), 3);
    assert!(
        added
            .iter()
            .all(|id| by_id(id).is_some_and(|t| t["status"] == "pending"))
    );
    assert_eq!(after.len(), before.len() + 2 + 3 - 1 - 1);
    // Still Basiq's shapes.
    let (_, page) = sim.get(&token, &format!("{path}?limit=500")).await;
    let mut schema = schema::response_schema("data", "/users/{userId}/transactions", "get", 200);
    schema::allow_null_property(&mut schema, "postDate");
    schema::assert_valid(&schema, &page, "transactions after changes");
    // And Basiq is told.
    let (_, events) = sim.get(&token, "/events").await;
    assert!(
        events["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["entity"] == "transactions" && e["eventType"] == "updated")
    );
}

#[tokio::test]
async fn a_bad_change_changes_nothing_and_says_why() {
    let sim = spawn_sim().await;
    let (token, user, _) = sim.connected_user().await;
    let path = format!("/users/{user}/transactions");
    let before = sim.all_transactions(&token, &path).await;
    let some = before[0]["id"].clone();
    for (body, why) in [
        (
            json!({"amend": [{"id": some, "amount": "1,5"}]}),
            "amend.amount",
        ),
        (json!({"remove": ["no-such-id"]}), "no transaction"),
        (
            json!({"post": [{"id": before.iter().find(|t| t["status"] == "posted").unwrap()["id"]}]}),
            "is not pending",
        ),
        (json!({"delete": []}), "unknown field"),
    ] {
        let (status, answer) = change(&sim, &user, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains(why), "{answer}");
    }
    assert_eq!(sim.all_transactions(&token, &path).await, before);
    let (status, _) = change(&sim, "nobody", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

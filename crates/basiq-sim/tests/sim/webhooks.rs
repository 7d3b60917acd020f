//! Signed webhooks, verified here independently, their redelivery, and the events behind them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::Sha256;

use crate::helpers::*;
use crate::schema::assert_conforms;

const KEY_BYTES: &[u8] = b"a webhook signing key for tests!";

#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
}

#[derive(Clone, Default)]
pub struct Receiver {
    pub deliveries: Arc<Mutex<Vec<Delivery>>>,
    /// How many deliveries to refuse with a 500 first.
    pub refuse: Arc<Mutex<usize>>,
}

async fn receive(
    axum::extract::State(rx): axum::extract::State<Receiver>,
    headers: HeaderMap,
    body: String,
) -> AxumStatus {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    rx.deliveries.lock().unwrap().push(Delivery {
        id: h("webhook-id"),
        timestamp: h("webhook-timestamp"),
        signature: h("webhook-signature"),
        body,
    });
    let mut refuse = rx.refuse.lock().unwrap();
    if *refuse > 0 {
        *refuse -= 1;
        AxumStatus::INTERNAL_SERVER_ERROR
    } else {
        AxumStatus::NO_CONTENT
    }
}

pub async fn receiver(refuse: usize) -> (Receiver, String) {
    let rx = Receiver::default();
    *rx.refuse.lock().unwrap() = refuse;
    let app = axum::Router::new()
        .route("/hook", post(receive))
        .with_state(rx.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (rx, url)
}

pub async fn sim_with_hooks(url: String) -> TestSim {
    spawn_with(basiq_sim::SimConfig {
        webhook_url: Some(url),
        webhook_secret: Some(format!("whsec_{}", STANDARD.encode(KEY_BYTES))),
        webhook_retry_scale: 0.02,
        ..config()
    })
    .await
}

fn verify(d: &Delivery) -> bool {
    verify_with(KEY_BYTES, d)
}

/// Whether the delivery is signed with `key`, as Basiq's webhooks security page says.
pub fn verify_with(key: &[u8], d: &Delivery) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(format!("{}.{}.{}", d.id, d.timestamp, d.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    d.signature.split(' ').any(|s| s == expected)
}

pub async fn wait_for(rx: &Receiver, pred: impl Fn(&[Delivery]) -> bool) -> Vec<Delivery> {
    for _ in 0..300 {
        let seen = rx.deliveries.lock().unwrap().clone();
        if pred(&seen) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "deliveries never arrived: {:?}",
        rx.deliveries.lock().unwrap()
    );
}

pub fn type_ids(deliveries: &[Delivery]) -> Vec<String> {
    deliveries
        .iter()
        .map(|d| {
            serde_json::from_str::<Value>(&d.body).unwrap()["eventTypeId"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_connection_sends_signed_webhooks_whose_events_can_be_fetched() {
    let (rx, url) = receiver(0).await;
    let sim = sim_with_hooks(url).await;
    let (token, user, connection) = sim.connected_user().await;
    let seen = wait_for(&rx, |d| {
        type_ids(d).contains(&"transactions.updated".to_owned())
    })
    .await;
    let types = type_ids(&seen);
    for expected in [
        "user.created",
        "consent.created",
        "connection.created",
        "connection.activated",
        "transactions.updated",
    ] {
        assert!(
            types.contains(&expected.to_owned()),
            "{expected} missing from {types:?}"
        );
    }
    let now = chrono::Utc::now().timestamp();
    for d in &seen {
        assert!(verify(d), "bad signature on {d:?}");
        assert!(d.id.starts_with("msg_"));
        assert!((now - d.timestamp.parse::<i64>().unwrap()).abs() < 60);
    }
    let tampered = Delivery {
        body: seen[0].body.replace('e', "E"),
        ..seen[0].clone()
    };
    assert!(!verify(&tampered));

    let activated = seen
        .iter()
        .map(|d| serde_json::from_str::<Value>(&d.body).unwrap())
        .find(|p| p["eventTypeId"] == "connection.activated")
        .unwrap();
    let event_url = activated["links"]["event"].as_str().unwrap();
    assert!(
        activated["links"]["eventEntity"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/users/{user}/connections/{connection}"))
    );
    let (status, event) = sim.get(&token, event_url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(event["id"], activated["eventId"]);
    assert_eq!(
        (event["entity"].as_str(), event["eventType"].as_str()),
        (Some("connection"), Some("activated"))
    );
    assert_eq!(event["data"]["id"], connection.as_str());
    assert_conforms("core", "/events/{id}", "get", 200, &event);
}

#[tokio::test]
async fn a_refused_webhook_is_redelivered_with_the_same_webhook_id() {
    let (rx, url) = receiver(1).await;
    let sim = sim_with_hooks(url).await;
    let token = sim.server_token().await;
    sim.create_user(&token).await;
    // The first delay is 5 s scaled by 0.02: about 100 ms.
    let seen = wait_for(&rx, |d| d.len() >= 2).await;
    assert_eq!(seen[0].id, seen[1].id);
    assert!(verify(&seen[0]) && verify(&seen[1]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        rx.deliveries.lock().unwrap().len(),
        2,
        "no delivery after a success"
    );
}

#[tokio::test]
async fn control_routes_invalidate_a_connection_and_revoke_consents_with_their_events() {
    let (rx, url) = receiver(0).await;
    let sim = sim_with_hooks(url).await;
    let (token, user, connection) = sim.connected_user().await;
    let r = sim
        .http
        .post(sim.url(&format!(
            "/__sim/users/{user}/connections/{connection}/invalidate"
        )))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let (_, c) = sim
        .get(&token, &format!("/users/{user}/connections/{connection}"))
        .await;
    assert_eq!(c["status"], "invalid");
    let r = sim
        .http
        .post(sim.url(&format!("/__sim/users/{user}/consents/revoke")))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let (_, consents) = sim.get(&token, &format!("/users/{user}/consents")).await;
    assert_eq!(consents["data"][0]["status"], "revoked");
    let seen = wait_for(&rx, |d| {
        let t = type_ids(d);
        t.contains(&"connection.invalidated".to_owned())
            && t.contains(&"consent.revoked".to_owned())
    })
    .await;
    assert!(seen.iter().all(verify));
}

#[tokio::test]
async fn a_consent_revoked_by_id_moved_to_expiring_and_extended_sends_its_events() {
    let (rx, url) = receiver(0).await;
    let sim = sim_with_hooks(url).await;
    let (token, user, _) = sim.connected_user().await;
    let (_, consents) = sim.get(&token, &format!("/users/{user}/consents")).await;
    let consent = consents["data"][0]["id"].as_str().unwrap().to_owned();
    let before = consents["data"][0]["expiryDate"]
        .as_str()
        .unwrap()
        .to_owned();

    let r = sim
        .http
        .post(sim.url(&format!("/__sim/users/{user}/consents/{consent}/expiring")))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let (_, expiring) = sim.get(&token, &format!("/users/{user}/consents")).await;
    let soon = expiring["data"][0]["expiryDate"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(soon < before, "{soon} is not before {before}");
    let expires = chrono::DateTime::parse_from_rfc3339(&soon)
        .unwrap()
        .to_utc();
    assert!(expires - chrono::Utc::now() < chrono::TimeDelta::days(7));
    wait_for(&rx, |d| type_ids(d).contains(&"consent.warning".to_owned())).await;

    let client = sim.client_token(&user).await;
    let r = sim
        .consent_connect(&[
            ("token", client.as_str()),
            ("state", "st"),
            ("action", "extend"),
            ("institutionId", "AU00000"),
            ("loginId", "Wentworth-Smith"),
            ("password", "whislter"),
        ])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, extended) = sim.get(&token, &format!("/users/{user}/consents")).await;
    assert_eq!(
        extended["data"].as_array().unwrap().len(),
        1,
        "the same consent, extended"
    );
    let renewed = extended["data"][0]["expiryDate"].as_str().unwrap();
    assert!(renewed > soon.as_str(), "{renewed} is not after {soon}");
    wait_for(&rx, |d| type_ids(d).contains(&"consent.updated".to_owned())).await;

    let (status, _) = sim
        .delete(&token, &format!("/users/{user}/consents/{consent}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let seen = wait_for(&rx, |d| type_ids(d).contains(&"consent.revoked".to_owned())).await;
    assert!(seen.iter().all(verify));
}

#[tokio::test]
async fn every_event_sent_is_listed_by_get_events_oldest_first_with_basiqs_filters() {
    let sim = spawn_sim().await;
    let (token, user, _connection) = sim.connected_user().await;
    let other_token = sim.server_token().await;
    let other = sim.create_user(&other_token).await;
    let r = sim
        .http
        .post(sim.url(&format!("/__sim/users/{user}/consents/revoke")))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());

    let (status, all) = sim.get(&token, "/events").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["type"], "list");
    // Basiq's list schema types `data` as a string and its entity as consent or connection
    // only, which its own example (an array of users) contradicts: each item is checked against
    // the single event's schema instead.
    for event in all["data"].as_array().unwrap() {
        assert_conforms("core", "/events/{id}", "get", 200, event);
    }
    let created: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["createdDate"].as_str().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "{created:?}");
    let users: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["userId"].as_str().unwrap())
        .collect();
    assert!(users.contains(&user.as_str()) && users.contains(&other.as_str()));

    let filter =
        format!("user.id.eq('{user}'),event.entity.eq('consent'),event.type.eq('revoked')");
    let (status, revoked) = sim
        .get(&token, &format!("/events?filter={}", urlencode(&filter)))
        .await;
    assert_eq!(status, StatusCode::OK);
    let revoked = revoked["data"].as_array().unwrap();
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0]["userId"], user.as_str());
    let id = revoked[0]["id"].as_str().unwrap();
    let (status, one) = sim.get(&token, &format!("/events/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one, revoked[0]);

    let (status, body) = sim
        .get(
            &token,
            &format!("/events?filter={}", urlencode("event.colour.eq('x')")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).0, "parameter-not-valid");
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn a_consent_reminder_on_demand_is_an_event_and_a_webhook_like_the_other_consent_events() {
    let (rx, url) = receiver(0).await;
    let sim = sim_with_hooks(url).await;
    let (token, user, _) = sim.connected_user().await;
    let (_, consents) = sim.get(&token, &format!("/users/{user}/consents")).await;
    let consent = consents["data"][0]["id"].as_str().unwrap().to_owned();
    let remind = |user: &str, consent: &str| {
        sim.http
            .post(sim.url(&format!("/__sim/users/{user}/consents/{consent}/reminder")))
            .send()
    };
    assert_eq!(
        remind(&user, &consent).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let seen = wait_for(&rx, |d| {
        type_ids(d).contains(&"consent.reminder".to_owned())
    })
    .await;
    let delivery = seen
        .iter()
        .find(|d| d.body.contains("consent.reminder"))
        .unwrap();
    assert!(verify(delivery));
    let payload: Value = serde_json::from_str(&delivery.body).unwrap();
    assert!(
        payload["links"]["eventEntity"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/users/{user}/consents/{consent}"))
    );
    let (status, event) = sim
        .get(&token, payload["links"]["event"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (event["entity"].as_str(), event["eventType"].as_str()),
        (Some("consent"), Some("reminder"))
    );
    assert_eq!(event["data"]["id"], consent.as_str());
    assert_eq!(event["data"]["status"], "active");
    assert_conforms("core", "/events/{id}", "get", 200, &event);
    let filter = urlencode("event.entity.eq('consent'),event.type.eq('reminder')");
    let (_, listed) = sim.get(&token, &format!("/events?filter={filter}")).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let (_, after) = sim.get(&token, &format!("/users/{user}/consents")).await;
    assert_eq!(after, consents, "the consent is unchanged");

    let other = sim.create_user(&token).await;
    assert_eq!(
        remind(&other, &consent).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        remind(&user, "nope").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    sim.delete(&token, &format!("/users/{user}/consents/{consent}"))
        .await;
    assert_eq!(
        remind(&user, &consent).await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "a revoked consent is reminded of nothing"
    );
}

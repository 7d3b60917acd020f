//! Webhook subscriptions (webhooks.json; docs/PLatform/webhooks): the application's webhooks,
//! what each receives, signed with its own secret, and the messages sent to it.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::webhooks::{Delivery, receiver, sim_with_hooks, type_ids, verify_with, wait_for};

pub async fn create(sim: &TestSim, token: &str, body: Value) -> (StatusCode, Value) {
    sim.post(token, "/notifications/webhooks", Some(body)).await
}

/// The key bytes of a `whsec_` secret.
pub fn key_of(webhook: &Value) -> Vec<u8> {
    let secret = webhook["secret"].as_str().expect("the secret is shown");
    STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ secret"))
        .unwrap()
}

fn detail(body: &Value) -> &str {
    body["data"][0]["detail"].as_str().unwrap()
}

#[tokio::test]
async fn a_webhook_is_created_listed_read_updated_and_deleted() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let (status, made) = create(
        &sim,
        &token,
        json!({
            "name": "My General Webhook",
            "description": "Webhook to catch user events",
            "url": "https://piper.test/basiq-messages/",
            "subscribedEvents": ["user.created", "user.deleted", "user.created"],
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    assert_eq!(key_of(&made).len(), 32);
    let link = sim.url(&format!("/notifications/webhooks/{id}"));
    let mut expected = json!({
        "type": "webhook",
        "id": id,
        "name": "My General Webhook",
        "description": "Webhook to catch user events",
        "url": "https://piper.test/basiq-messages/",
        "status": "active",
        "subscribedEvents": ["user.created", "user.deleted"],
        "links": { "self": link },
    });
    let mut shown = made.clone();
    shown.as_object_mut().unwrap().remove("secret");
    assert_eq!(shown, expected);

    let (status, list) = sim.get(&token, "/notifications/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        list,
        json!({
            "type": "list",
            "count": 1,
            "size": 1,
            "data": [expected],
            "links": { "self": sim.url("/notifications/webhooks") },
        })
    );
    let path = format!("/notifications/webhooks/{id}");
    let (status, one) = sim.get(&token, &path).await;
    assert_eq!((status, &one), (StatusCode::OK, &expected), "no secret");

    // The spec's example sends a bare string; absent fields keep their values.
    let (status, updated) = sim
        .post(
            &token,
            &path,
            Some(json!({ "url": "http://piper.test/v2", "subscribedEvents": "user.updated" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    expected["url"] = json!("http://piper.test/v2");
    expected["subscribedEvents"] = json!(["user.updated"]);
    expected["secret"] = made["secret"].clone();
    assert_eq!(updated, expected);

    assert_eq!(sim.delete(&token, &path).await.0, StatusCode::NO_CONTENT);
    let (status, gone) = sim.get(&token, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_of(&gone).0, "resource-not-found");
    assert_eq!(sim.delete(&token, &path).await.0, StatusCode::NOT_FOUND);
    let (_, list) = sim.get(&token, "/notifications/webhooks").await;
    assert_eq!(list["count"], 0);

    for (method, path) in [
        (reqwest::Method::GET, "/notifications/webhooks/not-a-uuid"),
        (reqwest::Method::POST, "/notifications/webhooks/not-a-uuid"),
        (
            reqwest::Method::DELETE,
            "/notifications/webhooks/not-a-uuid",
        ),
        (
            reqwest::Method::GET,
            "/notifications/webhooks/not-a-uuid/messages",
        ),
        (
            reqwest::Method::GET,
            "/notifications/webhooks/not-a-uuid/messages/x",
        ),
    ] {
        let body = (method == reqwest::Method::POST).then(|| json!({ "url": "http://x.test" }));
        let (status, bad) = sim.send(method.clone(), &token, path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}");
        assert_eq!(
            error_of(&bad),
            (
                "path-parameter-not-valid",
                &json!({ "parameter": "webhookId" })
            )
        );
    }
}

#[tokio::test]
async fn a_bad_webhook_is_refused_as_webhooks_json_s_examples_say() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let r = sim
        .http
        .post(sim.url("/notifications/webhooks"))
        .bearer_auth(&token)
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(error_of(&body).0, "invalid-content");
    assert_eq!(detail(&body), "Posted request not valid.");
    for bad in [
        json!({}),
        json!({ "url": "/hook" }),
        json!({ "url": "ftp://x.test/hook" }),
        json!({ "url": "not a url" }),
        json!({ "url": 7 }),
        json!({ "url": "http://x.test", "name": 1 }),
        json!({ "url": "http://x.test", "subscribedEvents": 5 }),
        json!({ "url": "http://x.test", "subscribedEvents": [5] }),
    ] {
        let (status, body) = create(&sim, &token, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(
            (error_of(&body).0, detail(&body)),
            ("invalid-content", "Posted request not valid."),
            "{bad}"
        );
    }
    let (status, body) = create(
        &sim,
        &token,
        json!({ "url": "http://x.test", "subscribedEvents": ["user.created", "user.exploded"] }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        (error_of(&body).0, detail(&body)),
        (
            "invalid-content",
            "Posted subscribedEvents contains unsupported event types."
        )
    );

    let (status, first) = create(
        &sim,
        &token,
        json!({ "url": "http://one.test", "subscribedEvents": ["user.created"] }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = create(&sim, &token, json!({ "url": "http://one.test" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        (error_of(&body).0, detail(&body)),
        (
            "resource-already-exists",
            "Webhook with provided url already exists."
        )
    );
    let (status, body) = create(
        &sim,
        &token,
        json!({ "url": "http://two.test", "subscribedEvents": ["user.deleted", "user.created"] }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).0, "event-already-subscribed");
    let (status, second) = create(
        &sim,
        &token,
        json!({ "url": "http://two.test", "subscribedEvents": ["user.deleted"] }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let second = format!("/notifications/webhooks/{}", second["id"].as_str().unwrap());
    let (status, _) = sim
        .post(&token, &second, Some(json!({ "url": "http://one.test" })))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = sim
        .post(
            &token,
            &second,
            Some(json!({ "url": "http://two.test", "subscribedEvents": ["user.created"] })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = sim
        .post(
            &token,
            &second,
            Some(json!({ "url": "http://two.test", "subscribedEvents": ["user.deleted", "user.updated"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "its own events are no conflict");
    let unknown = format!("/notifications/webhooks/{}", uuid::Uuid::new_v4());
    let (status, _) = sim
        .post(
            &token,
            &unknown,
            Some(json!({ "url": "http://three.test" })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let user = sim.create_user(&token).await;
    let client = sim.client_token(&user).await;
    let (status, _) = sim.get(&client, "/notifications/webhooks").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = sim.get("nope", "/notifications/webhooks").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let first = format!("/notifications/webhooks/{}", first["id"].as_str().unwrap());
    assert_eq!(sim.get(&token, &first).await.0, StatusCode::OK);
}

fn delivered_type(d: &Delivery) -> String {
    type_ids(std::slice::from_ref(d)).remove(0)
}

#[tokio::test]
async fn each_event_goes_to_the_webhook_subscribed_to_it_signed_with_its_own_secret() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let (rx_users, users_url) = receiver(0).await;
    let (rx_deleted, deleted_url) = receiver(0).await;
    let (_, users) = create(
        &sim,
        &token,
        json!({ "url": users_url, "subscribedEvents": ["user.created", "user.updated"] }),
    )
    .await;
    let (_, deleted) = create(
        &sim,
        &token,
        json!({ "url": deleted_url, "subscribedEvents": ["user.deleted"] }),
    )
    .await;
    let user = sim.create_user(&token).await;
    sim.post(
        &token,
        &format!("/users/{user}"),
        Some(json!({ "firstName": "Gavin" })),
    )
    .await;
    sim.delete(&token, &format!("/users/{user}")).await;

    let seen = wait_for(&rx_users, |d| d.len() >= 2).await;
    let gone = wait_for(&rx_deleted, |d| !d.is_empty()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(rx_users.deliveries.lock().unwrap().len(), 2, "nothing else");
    assert_eq!(rx_deleted.deliveries.lock().unwrap().len(), 1);
    assert_eq!(type_ids(&seen), ["user.created", "user.updated"]);
    assert_eq!(delivered_type(&gone[0]), "user.deleted");
    let (users_key, deleted_key) = (key_of(&users), key_of(&deleted));
    assert!(seen.iter().all(|d| verify_with(&users_key, d)));
    assert!(verify_with(&deleted_key, &gone[0]));
    assert!(
        !verify_with(&users_key, &gone[0]),
        "each webhook its own key"
    );

    // Each delivery is a message of its webhook, with its attempts.
    let base = format!("/notifications/webhooks/{}", users["id"].as_str().unwrap());
    let (status, messages) = sim.get(&token, &format!("{base}/messages")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&messages["type"], &messages["count"]),
        (&json!("list"), &json!(2))
    );
    for (message, delivery) in messages["data"].as_array().unwrap().iter().zip(&seen) {
        let payload: Value = serde_json::from_str(&delivery.body).unwrap();
        assert_eq!(message["payload"], payload);
        assert_eq!(message["webhookId"], users["id"]);
        assert_eq!(message["eventTypeId"], payload["eventTypeId"]);
        assert_eq!(message["eventId"], payload["eventId"]);
        let attempts = message["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1);
        assert!(chrono::DateTime::parse_from_rfc3339(attempts[0].as_str().unwrap()).is_ok());
        assert_eq!(
            delivery.id,
            format!(
                "msg_{}",
                uuid::Uuid::parse_str(message["id"].as_str().unwrap())
                    .unwrap()
                    .simple()
            ),
            "webhook-id names the message"
        );
        let (status, one) = sim
            .get(&token, message["links"]["self"].as_str().unwrap())
            .await;
        assert_eq!((status, &one), (StatusCode::OK, message));
        let (status, event) = sim
            .get(&token, payload["links"]["event"].as_str().unwrap())
            .await;
        assert_eq!(
            (status, &event["id"]),
            (StatusCode::OK, &payload["eventId"])
        );
    }
    let (status, missing) = sim
        .get(&token, &format!("{base}/messages/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(detail(&missing), "Message not found.");
}

#[tokio::test]
async fn the_configured_webhook_is_registered_at_start_for_every_event_type() {
    let (rx, url) = receiver(0).await;
    let sim = sim_with_hooks(url.clone()).await;
    let token = sim.server_token().await;
    let (_, list) = sim.get(&token, "/notifications/webhooks").await;
    assert_eq!(list["count"], 1);
    let webhook = &list["data"][0];
    assert_eq!(webhook["url"], url.as_str());
    assert!(webhook.get("secret").is_none());
    let events: Vec<&str> = webhook["subscribedEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "user.created",
            "user.updated",
            "user.deleted",
            "connection.created",
            "connection.activated",
            "connection.deleted",
            "connection.invalidated",
            "account.updated",
            "transactions.updated",
            "consent.created",
            "consent.updated",
            "consent.revoked",
            "consent.expired",
            "consent.warning",
            "consent.reminder",
        ]
    );
    // It takes every event type, so no other webhook may.
    let (status, _) = create(
        &sim,
        &token,
        json!({ "url": "http://other.test", "subscribedEvents": ["user.created"] }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    sim.create_user(&token).await;
    wait_for(&rx, |d| d.len() == 1).await;
    let path = format!(
        "/notifications/webhooks/{}",
        webhook["id"].as_str().unwrap()
    );
    assert_eq!(sim.delete(&token, &path).await.0, StatusCode::NO_CONTENT);
    sim.create_user(&token).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        rx.deliveries.lock().unwrap().len(),
        1,
        "deleted: nothing more"
    );
}

#[tokio::test]
async fn a_webhook_whose_message_fails_every_attempt_is_removed_and_gets_nothing_more() {
    // Basiq's schedule (5 s … 10 h, 27.6 h in all) scaled to about a second.
    let sim = spawn_with(basiq_sim::SimConfig {
        webhook_retry_scale: 0.00001,
        ..config()
    })
    .await;
    let token = sim.server_token().await;
    let (rx, url) = receiver(usize::MAX).await;
    let (_, webhook) = create(
        &sim,
        &token,
        json!({ "url": url, "subscribedEvents": ["user.created"] }),
    )
    .await;
    let path = format!(
        "/notifications/webhooks/{}",
        webhook["id"].as_str().unwrap()
    );
    sim.create_user(&token).await;
    let seen = wait_for(&rx, |d| d.len() >= 8).await;
    assert!(
        seen.iter().all(|d| d.id == seen[0].id),
        "one message, redelivered"
    );
    let mut gone = false;
    for _ in 0..200 {
        if sim.get(&token, &path).await.0 == StatusCode::NOT_FOUND {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(gone, "removed after the last attempt");
    let (_, list) = sim.get(&token, "/notifications/webhooks").await;
    assert_eq!(list["count"], 0);
    assert_eq!(
        rx.deliveries.lock().unwrap().len(),
        8,
        "the first and seven retries"
    );
    sim.create_user(&token).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rx.deliveries.lock().unwrap().len(), 8, "nothing more");
}

#[tokio::test]
async fn a_test_message_goes_to_each_webhook_subscribed_to_its_type_and_records_no_event() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let test = |body: Value| {
        let (sim, token) = (&sim, &token);
        async move {
            sim.post(token, "/notifications/messages/test", Some(body))
                .await
        }
    };
    let (status, none) = test(json!({ "eventTypeId": "user.created" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&none).0, "no-webhooks-found");
    let (rx, url) = receiver(0).await;
    let (_, webhook) = create(
        &sim,
        &token,
        json!({ "url": url, "subscribedEvents": ["user.created"] }),
    )
    .await;
    for (bad, expected) in [
        (json!({}), "Posted request not valid."),
        (json!({ "eventTypeId": 1 }), "Posted request not valid."),
        (
            json!({ "eventTypeId": "user.created", "Text": 1 }),
            "Posted request not valid.",
        ),
        (
            json!({ "eventTypeId": "user.exploded" }),
            "Posted eventTypeId doesn't exists.",
        ),
    ] {
        let (status, body) = test(bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(
            (error_of(&body).0, detail(&body)),
            ("invalid-content", expected),
            "{bad}"
        );
    }
    let (status, body) =
        test(json!({ "eventTypeId": "user.created", "Text": "My test message" })).await;
    assert_eq!(
        (status, body),
        (StatusCode::CREATED, Value::Null),
        "201, empty"
    );
    let seen = wait_for(&rx, |d| !d.is_empty()).await;
    assert!(verify_with(&key_of(&webhook), &seen[0]));
    let payload: Value = serde_json::from_str(&seen[0].body).unwrap();
    let event_id = payload["eventId"].as_str().unwrap();
    let event = sim.url(&format!("/events/{event_id}"));
    assert_eq!(
        payload,
        json!({
            "eventTypeId": "user.created",
            "eventId": event_id,
            "links": { "event": event, "eventEntity": event },
        })
    );
    let base = format!(
        "/notifications/webhooks/{}",
        webhook["id"].as_str().unwrap()
    );
    let (_, messages) = sim.get(&token, &format!("{base}/messages")).await;
    assert_eq!(
        messages["data"][0]["payload"], payload,
        "a message like any"
    );
    assert_eq!(sim.get(&token, &event).await.0, StatusCode::NOT_FOUND);
    let (_, events) = sim.get(&token, "/events").await;
    assert!(events["data"].as_array().unwrap().is_empty(), "no event");

    let (status, body) = test(json!({ "eventTypeId": "user.deleted" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).0, "no-webhooks-found");
}

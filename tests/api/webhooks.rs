//! `POST /webhooks/basiq`: signatures, timestamps, redeliveries, and what events change.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{Setup, TestApp, WEBHOOK_SECRET, now, spawn_app, spawn_app_with};

async fn app_with_webhooks() -> TestApp {
    spawn_app_with(Setup {
        webhooks: true,
        ..Setup::default()
    })
    .await
}

/// Signs like Basiq does, computed here independently of the service's code.
fn signature(id: &str, ts: i64, body: &[u8]) -> String {
    let key = STANDARD
        .decode(WEBHOOK_SECRET.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

async fn deliver(app: &TestApp, id: &str, ts: i64, body: &[u8], sig: &str) -> reqwest::StatusCode {
    app.http
        .post(format!("{}/webhooks/basiq", app.base))
        .header("webhook-id", id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", sig)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
}

fn payload(event_type: &str, event_id: &str) -> Vec<u8> {
    json!({"eventTypeId": event_type, "eventId": event_id, "links": {"event": format!("https://x/events/{event_id}")}})
        .to_string()
        .into_bytes()
}

async fn deliveries(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from webhook_deliveries")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_webhook_route_is_not_found_while_no_secret_is_configured() {
    let app = spawn_app().await;
    let body = payload("transactions.updated", "e1");
    let status = deliver(
        &app,
        "msg_1",
        now(),
        &body,
        &signature("msg_1", now(), &body),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_good_signature_is_accepted_and_anything_else_refused() {
    let app = app_with_webhooks().await;
    let body = payload("transactions.updated", "e1");
    let ts = now();
    let good = signature("msg_1", ts, &body);
    assert_eq!(deliver(&app, "msg_1", ts, &body, &good).await, 204);

    let mut tampered = body.clone();
    tampered[10] ^= 1;
    assert_eq!(
        deliver(&app, "msg_2", ts, &tampered, &signature("msg_2", ts, &body)).await,
        401,
        "tampered body"
    );
    assert_eq!(
        deliver(&app, "msg_3", ts, &body, &signature("msg_other", ts, &body)).await,
        401,
        "signed for another id"
    );
    assert_eq!(
        deliver(&app, "msg_4", ts, &body, "v1,AAAA").await,
        401,
        "wrong signature"
    );
    let old = ts - 6 * 60;
    assert_eq!(
        deliver(&app, "msg_5", old, &body, &signature("msg_5", old, &body)).await,
        400,
        "old timestamp"
    );
    let future = ts + 6 * 60;
    assert_eq!(
        deliver(
            &app,
            "msg_6",
            future,
            &body,
            &signature("msg_6", future, &body)
        )
        .await,
        400,
        "future timestamp"
    );
    let r = app
        .http
        .post(format!("{}/webhooks/basiq", app.base))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "unsigned");
    assert_eq!(
        deliveries(&app).await,
        1,
        "only the good delivery was recorded"
    );
}

#[tokio::test]
async fn a_redelivery_is_acknowledged_and_processed_once() {
    let app = app_with_webhooks().await;
    let body = payload("transactions.updated", "evt-redelivered");
    let ts = now();
    let sig = signature("msg_same", ts, &body);
    assert_eq!(deliver(&app, "msg_same", ts, &body, &sig).await, 204);
    assert_eq!(deliver(&app, "msg_same", ts, &body, &sig).await, 204);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let fetched = app
        .sim_requests()
        .await
        .iter()
        .filter(|r| r["path"] == "/events/evt-redelivered")
        .count();
    assert_eq!(fetched, 1, "the event was worked on once");
    assert_eq!(deliveries(&app).await, 1);
}

#[tokio::test]
async fn the_simulators_signed_webhooks_are_verified_and_recorded() {
    let app = app_with_webhooks().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    app.eventually("connection webhooks arrive", |pool| async move {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from webhook_deliveries where event_type like 'connection.%'",
        )
        .fetch_one(&pool)
        .await
        .is_ok_and(|n| n >= 1)
    })
    .await;
}

#[tokio::test]
async fn connection_invalidated_makes_the_connection_need_attention() {
    let app = app_with_webhooks().await;
    let jobs = app
        .connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let job = app.wait_for_job("alice", &jobs[0]).await;
    let connection = job["connectionId"].as_str().unwrap().to_owned();
    let user = app.basiq_user_id("alice").await;
    app.sim_post(
        &format!("/__sim/users/{user}/connections/{connection}/invalidate"),
        Value::Null,
    )
    .await;
    let c = connection.clone();
    app.eventually(
        "the webhook marks the connection invalidated",
        move |pool| {
            let c = c.clone();
            async move {
                sqlx::query_scalar::<_, bool>(
                    "select invalidated_at is not null from connections where connection_id = $1",
                )
                .bind(c)
                .fetch_one(&pool)
                .await
                .unwrap_or(false)
            }
        },
    )
    .await;
    let conns = app.get("/v1/connections", "alice").await;
    assert_eq!(conns.body["data"][0]["needsAttention"], true);
    assert_eq!(conns.body["data"][0]["attentionReason"], "invalid");
}

#[tokio::test]
async fn consent_revocation_deletes_the_users_stored_data() {
    let app = app_with_webhooks().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let count = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, i64>("select count(*) from jobs where app_user_id = 'alice'")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert!(count(app.pool.clone()).await > 0);
    let user = app.basiq_user_id("alice").await;
    app.sim_post(&format!("/__sim/users/{user}/consents/revoke"), Value::Null)
        .await;
    app.eventually("the user's jobs are deleted", move |pool| async move {
        count(pool).await == 0
    })
    .await;
}

#[tokio::test]
async fn a_signed_body_naming_another_type_than_its_event_is_acted_on_as_the_event_says() {
    let app = app_with_webhooks().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let user = app.basiq_user_id("alice").await;
    // The id of the real `user.created` event, from the events the BFF fetched.
    let mut created = None;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..100 {
        for r in app.sim_requests().await {
            let path = r["path"].as_str().unwrap().to_owned();
            if !path.starts_with("/events/") || !seen.insert(path.clone()) {
                continue;
            }
            let event = app.basiq_get(&path).await;
            if event["entity"] == "user" && event["eventType"] == "created" {
                created = event["id"].as_str().map(str::to_owned);
            }
        }
        if created.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let created = created.expect("the user.created event was fetched");
    // Correctly signed, but the body claims the event is a deletion.
    let body = payload("user.deleted", &created);
    let ts = now();
    let sig = signature("msg_forged_type", ts, &body);
    assert_eq!(deliver(&app, "msg_forged_type", ts, &body, &sig).await, 204);
    // Fetched by the BFF when first delivered, by this test, and now for the forged delivery.
    app.eventually("the forged delivery's event is fetched", |_| async {
        app.sim_requests()
            .await
            .iter()
            .filter(|r| r["path"] == format!("/events/{created}"))
            .count()
            >= 3
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mapped: Option<String> =
        sqlx::query_scalar("select basiq_user_id from app_users where app_user_id = 'alice'")
            .fetch_optional(&app.pool)
            .await
            .unwrap()
            .flatten();
    assert_eq!(mapped.as_deref(), Some(user.as_str()), "the mapping stays");
}

#[tokio::test]
async fn a_revoked_consent_reaches_the_users_stream() {
    let app = app_with_webhooks().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let user = app.basiq_user_id("alice").await;
    let mut stream = app
        .http
        .get(format!("{}/v1/events", app.base))
        .bearer_auth(crate::helpers::jwt_for("alice"))
        .send()
        .await
        .unwrap();
    app.sim_post(&format!("/__sim/users/{user}/consents/revoke"), Value::Null)
        .await;
    let mut text = String::new();
    let found = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if text.contains("event: consent.updated") && text.contains(r#""change":"revoked""#) {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "no consent.updated revoked in: {text}");
}

#[tokio::test]
async fn a_consent_revoked_while_no_webhook_arrived_is_recovered_from_basiqs_events_on_start() {
    // No webhooks are delivered: the revocation is known only to Basiq's GET /events.
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let count = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, i64>("select count(*) from jobs where app_user_id = 'alice'")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert!(count(app.pool.clone()).await > 0);
    let user = app.basiq_user_id("alice").await;
    app.sim_post(&format!("/__sim/users/{user}/consents/revoke"), Value::Null)
        .await;
    // A basiq-bff starting now reads the events it missed.
    let _replica = app.spawn_replica().await;
    app.eventually("the user's jobs are deleted", move |pool| async move {
        count(pool).await == 0
    })
    .await;
    let recovered: String = sqlx::query_scalar(
        "select source from processed_events where event_type = 'consent.revoked'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(recovered, "recovered");
}

//! Consents in the app: `GET /v1/consents`, `DELETE /v1/consents/{id}`, the expiry warning and
//! its renewal, `PATCH /v1/me`, and `GET /v1/me` when Basiq cannot answer part of it.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::helpers::{RETURN_TO, Setup, TestApp, spawn_app, spawn_app_with};

async fn app_with_webhooks() -> TestApp {
    spawn_app_with(Setup {
        webhooks: true,
        ..Setup::default()
    })
    .await
}

async fn count(pool: &sqlx::PgPool, table: &str, user: &str) -> i64 {
    let query = match table {
        "jobs" => "select count(*) from jobs where app_user_id = $1",
        "refreshes" => "select count(*) from refreshes where app_user_id = $1",
        "connections" => "select count(*) from connections where app_user_id = $1",
        "consent_warnings" => "select count(*) from consent_warnings where app_user_id = $1",
        other => panic!("no count for {other}"),
    };
    sqlx::query_scalar::<_, i64>(query)
        .bind(user)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn sealed_contact(pool: &sqlx::PgPool, user: &str) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    sqlx::query_as("select email_sealed, mobile_sealed from app_users where app_user_id = $1")
        .bind(user)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The id of the user's only consent, as the BFF lists it.
async fn consent_id(app: &TestApp, sub: &str) -> String {
    let list = app.get("/v1/consents", sub).await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    list.body["data"][0]["id"].as_str().unwrap().to_owned()
}

/// Everything stored for a user that a revocation must erase, besides the sealed contact.
async fn stored_rows(app: &TestApp, sub: &str) -> [i64; 4] {
    let pool = &app.pool;
    [
        count(pool, "jobs", sub).await,
        count(pool, "refreshes", sub).await,
        count(pool, "connections", sub).await,
        count(pool, "consent_warnings", sub).await,
    ]
}

/// A connected user with a job, a refresh, a connection state and a consent warning stored.
async fn connected_with_everything_stored(app: &TestApp, sub: &str) -> String {
    let jobs = app.connect_bank(sub, "Wentworth-Smith", "whislter").await;
    let job = app.wait_for_job(sub, &jobs[0]).await;
    let connection = job["connectionId"].as_str().unwrap().to_owned();
    let refresh = app
        .post(
            &format!("/v1/connections/{connection}/refresh"),
            sub,
            Value::Null,
        )
        .await;
    assert!(refresh.status.is_success(), "{:?}", refresh.body);
    let consent = consent_id(app, sub).await;
    sqlx::query("insert into connections (connection_id, app_user_id, invalidated_at) values ($1, $2, now())")
        .bind(&connection)
        .bind(sub)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("insert into consent_warnings (consent_id, app_user_id) values ($1, $2)")
        .bind(&consent)
        .bind(sub)
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(stored_rows(app, sub).await.iter().all(|n| *n > 0));
    assert!(sealed_contact(&app.pool, sub).await.0.is_some());
    consent
}

#[tokio::test]
async fn a_user_who_never_consented_has_no_consents() {
    let app = spawn_app().await;
    let a = app.get("/v1/consents", "alice").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, json!({"data": []}));
}

#[tokio::test]
async fn the_users_consents_show_status_expiry_purpose_and_what_was_consented_to() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let user = app.basiq_user_id("alice").await;
    let basiq = app.basiq_get(&format!("/users/{user}/consents")).await;
    let theirs = &basiq["data"][0];

    let a = app.get("/v1/consents", "alice").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let ours = &a.body["data"];
    assert_eq!(ours.as_array().unwrap().len(), 1);
    let c = &ours[0];
    assert_eq!(c["id"], theirs["id"]);
    assert_eq!(c["status"], "active");
    assert_eq!(c["createdAt"], theirs["created"]);
    assert_eq!(c["updatedAt"], theirs["updated"]);
    assert_eq!(c["expiryDate"], theirs["expiryDate"]);
    assert_eq!(c["revokedAt"], Value::Null);
    assert_eq!(c["purpose"]["title"], theirs["purpose"]["primary"]["title"]);
    assert_eq!(c["retainData"], theirs["data"]["retainData"]);
    assert_eq!(
        c["initialRetrievalDays"],
        theirs["data"]["initialRetrievalDays"]
    );
    let permissions = c["permissions"].as_array().unwrap();
    let basiq_permissions = theirs["data"]["permissions"].as_array().unwrap();
    assert_eq!(permissions.len(), basiq_permissions.len());
    for (p, b) in permissions.iter().zip(basiq_permissions) {
        assert_eq!(p["scope"], b["scope"]);
        assert_eq!(p["entity"], b["entity"]);
        assert_eq!(p["name"], b["information"]["name"]);
        assert_eq!(p["attributes"], b["information"]["attributeList"]);
        assert_eq!(p["consented"], true);
    }
}

#[tokio::test]
async fn revoking_a_consent_revokes_it_at_basiq_and_erases_the_users_data_but_keeps_the_link() {
    let app = spawn_app().await;
    let consent = connected_with_everything_stored(&app, "alice").await;
    let user = app.basiq_user_id("alice").await;

    let a = app
        .delete(&format!("/v1/consents/{consent}"), "alice")
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);

    assert_eq!(stored_rows(&app, "alice").await, [0, 0, 0, 0]);
    assert_eq!(sealed_contact(&app.pool, "alice").await, (None, None));
    assert_eq!(app.basiq_user_id("alice").await, user);
    let basiq = app.basiq_get(&format!("/users/{user}/consents")).await;
    assert_eq!(basiq["data"][0]["status"], "revoked");
    let listed = app.get("/v1/consents", "alice").await;
    assert_eq!(listed.body["data"][0]["status"], "revoked");
    assert!(listed.body["data"][0]["revokedAt"].is_string());

    let again = app
        .delete(&format!("/v1/consents/{consent}"), "alice")
        .await;
    assert_eq!(again.status, 204, "{:?}", again.body);
}

#[tokio::test]
async fn revoking_someone_elses_consent_is_not_found_and_changes_nothing() {
    let app = spawn_app().await;
    let alices = connected_with_everything_stored(&app, "alice").await;
    app.connect_bank("bob", "gavinBelson", "hooli2016").await;
    let before = stored_rows(&app, "alice").await;

    let a = app.delete(&format!("/v1/consents/{alices}"), "bob").await;
    assert_eq!(a.status, 404, "{:?}", a.body);

    assert_eq!(stored_rows(&app, "alice").await, before);
    assert!(sealed_contact(&app.pool, "alice").await.0.is_some());
    let alice = app.basiq_user_id("alice").await;
    let basiq = app.basiq_get(&format!("/users/{alice}/consents")).await;
    assert_eq!(basiq["data"][0]["status"], "active");
    let bobs = app.get("/v1/consents", "bob").await;
    assert_eq!(bobs.body["data"][0]["status"], "active");
}

#[tokio::test]
async fn a_revocation_basiq_fails_leaves_our_data_and_answers_the_upstream_problem() {
    let app = spawn_app().await;
    let consent = connected_with_everything_stored(&app, "alice").await;
    let before = stored_rows(&app, "alice").await;
    app.sim_post(
        "/__sim/faults",
        json!({"path": "/consents/", "method": "DELETE", "status": 503}),
    )
    .await;

    let a = app
        .delete(&format!("/v1/consents/{consent}"), "alice")
        .await;
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert!(a.body["code"].is_string(), "{:?}", a.body);

    assert_eq!(stored_rows(&app, "alice").await, before);
    assert!(sealed_contact(&app.pool, "alice").await.0.is_some());
}

/// Renews the user's consent through the Consent UI with `action: extend`.
async fn renew(app: &TestApp, sub: &str) {
    let url = app
        .consent_url(sub, json!({"returnTo": RETURN_TO, "action": "extend"}))
        .await;
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["action"], "extend");
    let r = app
        .http
        .post(format!("{}/consent/connect", app.sim.base_url()))
        .form(&[
            ("token", q["token"].as_str()),
            ("state", q["state"].as_str()),
            ("action", "extend"),
            ("institutionId", "AU00000"),
            ("loginId", "Wentworth-Smith"),
            ("password", "whislter"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let callback = r.headers()["location"].to_str().unwrap().to_owned();
    let back = app.http.get(&callback).send().await.unwrap();
    assert_eq!(back.status(), 303);
}

async fn warnings(pool: sqlx::PgPool) -> i64 {
    count(&pool, "consent_warnings", "alice").await
}

#[tokio::test]
async fn an_expiring_consent_flags_every_connection_and_a_renewal_clears_it() {
    let app = app_with_webhooks().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    app.connect_bank("alice", "gavinBelson", "hooli2016").await;
    let user = app.basiq_user_id("alice").await;
    let consent = consent_id(&app, "alice").await;
    let before = app.get("/v1/connections", "alice").await;
    assert_eq!(before.body["data"].as_array().unwrap().len(), 2);
    assert!(
        before.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["needsAttention"] == false)
    );

    app.sim_post(
        &format!("/__sim/users/{user}/consents/{consent}/expiring"),
        Value::Null,
    )
    .await;
    app.eventually("the warning is stored", |pool| async move {
        warnings(pool).await == 1
    })
    .await;
    let expiry = app.basiq_get(&format!("/users/{user}/consents")).await["data"][0]["expiryDate"]
        .as_str()
        .unwrap()
        .to_owned();
    let flagged = app.get("/v1/connections", "alice").await;
    for c in flagged.body["data"].as_array().unwrap() {
        assert_eq!(c["needsAttention"], true, "{c}");
        assert_eq!(c["attentionReason"], "consent_expiring", "{c}");
        assert_eq!(c["expiryDate"], expiry.as_str(), "{c}");
    }

    renew(&app, "alice").await;
    app.eventually("the renewal clears the warning", |pool| async move {
        warnings(pool).await == 0
    })
    .await;
    let renewed = app.get("/v1/connections", "alice").await;
    let connections = renewed.body["data"].as_array().unwrap();
    assert!(connections.len() >= 2);
    for c in connections {
        assert_eq!(c["needsAttention"], false, "{c}");
    }
}

#[tokio::test]
async fn an_unknown_consent_action_is_refused_naming_action() {
    let app = spawn_app().await;
    let a = app
        .post(
            "/v1/consent",
            "alice",
            json!({"returnTo": RETURN_TO, "action": "renew"}),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.problem_field(), Some("action"));
}

async fn user_updates(app: &TestApp) -> usize {
    app.sim_requests()
        .await
        .iter()
        .filter(|r| {
            let path = r["path"].as_str().unwrap();
            r["method"] == "POST" && path.starts_with("/users/") && path.matches('/').count() == 2
        })
        .count()
}

#[tokio::test]
async fn patching_me_with_a_bad_mobile_is_a_400_naming_mobile_and_nothing_reaches_basiq() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let before = sealed_contact(&app.pool, "alice").await;
    for body in [
        json!({"mobile": "0400 000 000"}),
        json!({"mobile": "0400000000"}),
        json!({"mobile": "+61 400"}),
        json!({"email": "alice@example.com", "mobile": "call me"}),
    ] {
        let a = app.patch("/v1/me", "alice", body.clone()).await;
        assert_eq!(a.status, 400, "{body}: {:?}", a.body);
        assert_eq!(a.problem_field(), Some("mobile"), "{body}");
    }
    let a = app.patch("/v1/me", "alice", json!({"email": "nope"})).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.problem_field(), Some("email"));
    let a = app
        .patch("/v1/me", "alice", json!({"phone": "+61400000000"}))
        .await;
    assert_eq!(a.status, 400);

    assert_eq!(user_updates(&app).await, 0);
    assert_eq!(sealed_contact(&app.pool, "alice").await, before);
}

#[tokio::test]
async fn patching_me_updates_the_basiq_user_and_then_our_sealed_copy() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let user = app.basiq_user_id("alice").await;
    let before = sealed_contact(&app.pool, "alice").await;

    let a = app
        .patch(
            "/v1/me",
            "alice",
            json!({"email": "alice.new@example.com", "mobile": "+61400111222"}),
        )
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);

    let basiq = app.basiq_get(&format!("/users/{user}")).await;
    assert_eq!(basiq["email"], "alice.new@example.com");
    assert_eq!(basiq["mobile"], "+61400111222");
    assert_eq!(user_updates(&app).await, 1);
    let after = sealed_contact(&app.pool, "alice").await;
    assert!(after.0.is_some() && after.0 != before.0);
    assert!(after.1.is_some());
    for sealed in [after.0.unwrap(), after.1.unwrap()] {
        let text = String::from_utf8_lossy(&sealed);
        assert!(!text.contains("alice.new") && !text.contains("400111222"));
    }
}

#[tokio::test]
async fn a_failing_basiq_update_leaves_our_copy_as_it_was() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let before = sealed_contact(&app.pool, "alice").await;
    app.sim_post(
        "/__sim/faults",
        json!({"path": "/users/", "method": "POST", "status": 503}),
    )
    .await;
    let a = app
        .patch("/v1/me", "alice", json!({"mobile": "+61400111222"}))
        .await;
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert_eq!(sealed_contact(&app.pool, "alice").await, before);
}

#[tokio::test]
async fn contact_details_patched_before_the_basiq_user_exists_are_used_to_create_it() {
    let app = spawn_app().await;
    let a = app
        .patch("/v1/me", "carol", json!({"mobile": "+61400999888"}))
        .await;
    assert_eq!(a.status, 204, "{:?}", a.body);
    assert_eq!(user_updates(&app).await, 0);
    assert_eq!(
        app.get("/v1/me", "carol").await.body["basiqUserId"],
        Value::Null
    );

    app.connect_bank("carol", "Wentworth-Smith", "whislter")
        .await;
    let user = app.basiq_user_id("carol").await;
    let basiq = app.basiq_get(&format!("/users/{user}")).await;
    assert_eq!(basiq["mobile"], "+61400999888");
}

#[tokio::test]
async fn me_still_answers_when_basiqs_consents_call_fails_and_says_what_is_unknown() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let whole = app.get("/v1/me", "alice").await;
    assert_eq!(whole.body["unknown"], json!([]));
    assert_eq!(whole.body["consent"]["status"], "active");

    app.sim_post(
        "/__sim/faults",
        json!({"path": "/consents", "method": "GET", "status": 503}),
    )
    .await;
    let a = app.get("/v1/me", "alice").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["unknown"], json!(["consent"]));
    assert_eq!(a.body["consent"], Value::Null);
    assert_eq!(a.body["connectionCount"], 1);
    assert_eq!(a.body["basiqUserId"], whole.body["basiqUserId"]);

    app.sim_delete("/__sim/faults").await;
    app.sim_post(
        "/__sim/faults",
        json!({"path": "/connections", "method": "GET", "status": 503}),
    )
    .await;
    let a = app.get("/v1/me", "alice").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["unknown"], json!(["connections"]));
    assert_eq!(a.body["connectionCount"], Value::Null);
    assert_eq!(a.body["consent"]["status"], "active");
}

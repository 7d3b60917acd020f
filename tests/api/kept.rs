//! Unchanged data costs nothing (issue "Unchanged data costs nothing"): the answers of
//! `GET /v1/accounts[/{id}]` and `GET /v1/transactions[/{id}]` are kept per user until the
//! user's data changes, with strong ETags and `304 Not Modified`, and say when their data was
//! read from Basiq.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Setup, TestApp, jwt_for, spawn_app, spawn_app_with};

/// How many calls the simulator has received so far whose path ends with `suffix`.
async fn calls(app: &TestApp, suffix: &str) -> usize {
    app.sim_requests()
        .await
        .iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with(suffix))
        .count()
}

/// `GET path` for `sub` with `If-None-Match: etag` when given: status, headers, body text.
async fn get(
    app: &TestApp,
    path: &str,
    sub: &str,
    etag: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = app
        .http
        .get(format!("{}{path}", app.base))
        .bearer_auth(jwt_for(sub));
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

/// Whether reading `path` now calls Basiq (for calls ending with `suffix`).
async fn reads_basiq(app: &TestApp, path: &str, suffix: &str) -> bool {
    let before = calls(app, suffix).await;
    let (status, _, body) = get(app, path, "alice", None).await;
    assert_eq!(status, 200, "{body}");
    calls(app, suffix).await > before
}

/// Alice's accounts and first transactions are kept.
async fn kept(app: &TestApp) {
    get(app, "/v1/accounts", "alice", None).await;
    get(app, "/v1/transactions?limit=5", "alice", None).await;
    assert!(!reads_basiq(app, "/v1/accounts", "/accounts").await, "kept");
}

async fn connected(app: &TestApp) -> String {
    let jobs = app
        .connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    app.wait_for_job("alice", &jobs[0]).await["connectionId"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Waits for an event of `event_type` to be stored for alice after `after` events.
async fn event_after(app: &TestApp, event_type: &'static str, after: i64) {
    app.eventually(event_type, move |pool| async move {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from events where app_user_id = 'alice' and event_type = $1 and id > $2",
        )
        .bind(event_type)
        .bind(after)
        .fetch_one(&pool)
        .await
        .unwrap()
            > 0
    })
    .await;
}

async fn last_event(app: &TestApp) -> i64 {
    sqlx::query_scalar("select coalesce(max(id), 0) from events")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn repeated_reads_cost_basiq_nothing_and_answer_the_same_bytes() {
    let app = spawn_app().await;
    connected(&app).await;
    let (_, _, accounts) = get(&app, "/v1/accounts", "alice", None).await;
    let account = serde_json::from_str::<Value>(&accounts).unwrap()["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, _, page) = get(
        &app,
        "/v1/transactions?limit=10&status=posted",
        "alice",
        None,
    )
    .await;
    let transaction = serde_json::from_str::<Value>(&page).unwrap()["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let one_account = format!("/v1/accounts/{account}");
    let one_transaction = format!("/v1/transactions/{transaction}");
    get(&app, &one_account, "alice", None).await;
    get(&app, &one_transaction, "alice", None).await;
    let before = app.sim_requests().await.len();
    for _ in 0..3 {
        assert_eq!(get(&app, "/v1/accounts", "alice", None).await.2, accounts);
        // The same filters in another order are the same page.
        let (status, _, again) = get(
            &app,
            "/v1/transactions?status=posted&limit=10",
            "alice",
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(again, page);
        get(&app, &one_account, "alice", None).await;
        get(&app, &one_transaction, "alice", None).await;
    }
    assert_eq!(app.sim_requests().await.len(), before, "no call to Basiq");
    // Another page is another answer.
    assert!(reads_basiq(&app, "/v1/transactions?limit=11", "/transactions").await);
}

#[tokio::test]
async fn a_kept_answer_carries_a_strong_etag_and_when_it_was_read_and_if_none_match_gets_304() {
    let app = spawn_app().await;
    connected(&app).await;
    let (status, headers, body) = get(&app, "/v1/accounts", "alice", None).await;
    assert_eq!(status, 200);
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
    assert_eq!(headers["cache-control"], "private, no-cache");
    let read_at = headers["data-read-at"].to_str().unwrap().to_owned();
    let at = chrono::DateTime::parse_from_rfc3339(&read_at).unwrap();
    assert!((chrono::Utc::now() - at.to_utc()).num_seconds() < 5);

    let before = app.sim_requests().await.len();
    let (status, again, empty) = get(&app, "/v1/accounts", "alice", Some(&etag)).await;
    assert_eq!(status, 304);
    assert!(empty.is_empty(), "no body");
    assert_eq!(again["etag"].to_str().unwrap(), etag);
    assert_eq!(again["data-read-at"].to_str().unwrap(), read_at);
    // A list of tags, or a weak one, names it too; another tag does not.
    let listed = format!("\"other\", W/{etag}");
    assert_eq!(
        get(&app, "/v1/accounts", "alice", Some(&listed)).await.0,
        304
    );
    let (status, _, full) = get(&app, "/v1/accounts", "alice", Some("\"other\"")).await;
    assert_eq!((status, full), (200, body));
    assert_eq!(app.sim_requests().await.len(), before, "no call to Basiq");

    // The data changes: the tag with it.
    let (_, page, body) = get(&app, "/v1/transactions?limit=5", "alice", None).await;
    let page_etag = page["etag"].to_str().unwrap().to_owned();
    let top = serde_json::from_str::<Value>(&body).unwrap()["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let basiq_user = app.basiq_user_id("alice").await;
    let after = last_event(&app).await;
    app.sim_post(
        &format!("/__sim/users/{basiq_user}/transactions"),
        json!({"amend": [{"id": top, "description": "A NEW DESCRIPTION"}]}),
    )
    .await;
    // (No webhooks in this setup: the change is learnt by recovery.)
    let replay = app
        .run_bff(&["admin", "replay-events", "--since", "1h"], &[])
        .await;
    assert_eq!(replay.code, Some(0), "{replay:?}");
    event_after(&app, "data.updated", after).await;
    let (status, changed, _) =
        get(&app, "/v1/transactions?limit=5", "alice", Some(&page_etag)).await;
    assert_eq!(status, 200, "the newest transactions changed");
    assert_ne!(changed["etag"].to_str().unwrap(), page_etag);
    assert!(changed["data-read-at"].to_str().unwrap() > read_at.as_str());
}

#[tokio::test]
async fn a_kept_answer_never_reaches_another_user() {
    let app = spawn_app().await;
    connected(&app).await;
    app.connect_bank("bob", "gavinBelson", "hooli2016").await;
    let (_, alice_headers, alice) = get(&app, "/v1/accounts", "alice", None).await;
    let (_, _, bob) = get(&app, "/v1/accounts", "bob", None).await;
    assert_ne!(alice, bob);
    let ids = |body: &str| -> Vec<String> {
        serde_json::from_str::<Value>(body).unwrap()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(ids(&alice).iter().all(|id| !ids(&bob).contains(id)));
    // Alice's tag means nothing for bob: he gets his own answer.
    let etag = alice_headers["etag"].to_str().unwrap();
    let (status, _, again) = get(&app, "/v1/accounts", "bob", Some(etag)).await;
    assert_eq!((status, again), (200, bob));
    // Nor does a user's kept account answer another's request for its id.
    let account = &ids(&alice)[0];
    let (status, _, _) = get(&app, &format!("/v1/accounts/{account}"), "bob", None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn each_kind_of_change_is_seen_at_the_next_read() {
    let app = spawn_app_with(Setup {
        webhooks: true,
        ..Setup::default()
    })
    .await;
    let connection = connected(&app).await;
    let basiq_user = app.basiq_user_id("alice").await;

    // A job succeeds (a refresh the user starts).
    kept(&app).await;
    let job = app
        .post(
            &format!("/v1/connections/{connection}/refresh"),
            "alice",
            json!({}),
        )
        .await;
    let after = last_event(&app).await;
    app.wait_for_job("alice", job.body["id"].as_str().unwrap())
        .await;
    event_after(&app, "data.updated", after).await;
    assert!(
        reads_basiq(&app, "/v1/accounts", "/accounts").await,
        "after a job"
    );

    // Basiq's transactions.updated webhook.
    kept(&app).await;
    let after = last_event(&app).await;
    app.sim_post(
        &format!("/__sim/users/{basiq_user}/transactions"),
        json!({"add": [{"count": 1}]}),
    )
    .await;
    event_after(&app, "data.updated", after).await;
    assert!(
        reads_basiq(&app, "/v1/transactions?limit=5", "/transactions").await,
        "after a webhook"
    );

    // A change made through another replica (its event's notice reaches this one).
    kept(&app).await;
    let replica = app.spawn_replica().await;
    let purged = app
        .http
        .post(format!(
            "{}/v1/connections/{connection}/purge",
            replica.base
        ))
        .bearer_auth(jwt_for("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(purged.status(), 204);
    let mut seen = false;
    for _ in 0..50 {
        let (_, _, body) = get(&app, "/v1/accounts", "alice", None).await;
        if body == r#"{"data":[]}"# {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(seen, "a purge on another replica is seen here");

    // A refresh brings the data back; then the connection is deleted here.
    let job = app
        .post(
            &format!("/v1/connections/{connection}/refresh"),
            "alice",
            json!({}),
        )
        .await;
    app.wait_for_job("alice", job.body["id"].as_str().unwrap())
        .await;
    kept(&app).await;
    assert_eq!(
        app.delete(&format!("/v1/connections/{connection}"), "alice")
            .await
            .status,
        204
    );
    let (_, _, body) = get(&app, "/v1/accounts", "alice", None).await;
    assert_eq!(body, r#"{"data":[]}"#, "at once, after a deletion");

    // The user connects again; their consent is revoked at Basiq (webhook).
    app.connect_bank("alice", "gavinBelson", "hooli2016").await;
    kept(&app).await;
    let after = last_event(&app).await;
    app.sim_post(
        &format!("/__sim/users/{basiq_user}/consents/revoke"),
        json!({}),
    )
    .await;
    event_after(&app, "consent.updated", after).await;
    assert!(
        reads_basiq(&app, "/v1/accounts", "/accounts").await,
        "after a revocation"
    );

    // Erasure: the next read is a new user's, with nothing to show.
    kept(&app).await;
    assert_eq!(app.delete("/v1/me", "alice").await.status, 204);
    let (_, _, body) = get(&app, "/v1/accounts", "alice", None).await;
    assert_eq!(body, r#"{"data":[]}"#, "after erasure");
}

#[tokio::test]
async fn answers_older_than_the_maximum_age_are_read_again_and_a_zero_budget_keeps_none() {
    let mut setup = Setup::default();
    setup
        .env
        .push(("ANSWER_CACHE_MAX_AGE_SECS", "1".to_owned()));
    let app = spawn_app_with(setup).await;
    connected(&app).await;
    get(&app, "/v1/accounts", "alice", None).await;
    assert!(!reads_basiq(&app, "/v1/accounts", "/accounts").await);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        reads_basiq(&app, "/v1/accounts", "/accounts").await,
        "aged out"
    );

    let mut setup = Setup::default();
    setup.env.push(("ANSWER_CACHE_BYTES", "0".to_owned()));
    let off = spawn_app_with(setup).await;
    off.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    get(&off, "/v1/accounts", "alice", None).await;
    assert!(
        reads_basiq(&off, "/v1/accounts", "/accounts").await,
        "none kept"
    );
    // Without a kept answer, a request holding the current one still gets its 304.
    let (_, headers, _) = get(&off, "/v1/accounts", "alice", None).await;
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(get(&off, "/v1/accounts", "alice", Some(&etag)).await.0, 304);
}

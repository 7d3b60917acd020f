//! Basiq as its own documentation describes it (issue "Basiq as it really behaves"): a deleted
//! connection's data is gone from every route although Basiq keeps it, purge, and (with the
//! outcome table, MFA and bank status) what a job tells the user.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::events::Stream;
use crate::helpers::{Setup, TestApp, spawn_app, spawn_app_with};
use crate::sync::Copy;

/// Every transaction `GET /v1/transactions` lists for `sub`, following `nextCursor`.
async fn listed_transactions(app: &TestApp, sub: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = "/v1/transactions?limit=500".to_owned();
    loop {
        let a = app.get(&path, sub).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        out.extend(a.body["data"].as_array().unwrap().iter().cloned());
        match a.body["nextCursor"].as_str() {
            Some(c) => {
                let c: String = form_urlencoded::byte_serialize(c.as_bytes()).collect();
                path = format!("/v1/transactions?limit=500&cursor={c}");
            }
            None => return out,
        }
    }
}

fn connections_of(items: &[Value]) -> HashSet<String> {
    items
        .iter()
        .map(|i| i["connectionId"].as_str().unwrap().to_owned())
        .collect()
}

/// Connects two banks for `sub` (two consent round trips): their connection ids.
async fn two_banks(app: &TestApp, sub: &str) -> (String, String) {
    let first = app.connect_bank(sub, "Wentworth-Smith", "whislter").await;
    let second = app.connect_bank(sub, "gavinBelson", "hooli2016").await;
    let a = app.wait_for_job(sub, &first[0]).await["connectionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = app.wait_for_job(sub, &second[0]).await["connectionId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(a, b);
    (a, b)
}

/// Checks that nothing of connection `gone` is answered and `kept`'s data still is.
async fn only_kept_is_answered(app: &TestApp, sub: &str, gone: &str, kept: &str) -> Vec<Value> {
    let accounts = app.get("/v1/accounts", sub).await;
    assert_eq!(accounts.status, 200);
    let accounts = accounts.body["data"].as_array().unwrap().clone();
    assert_eq!(connections_of(&accounts), HashSet::from([kept.to_owned()]));
    let transactions = listed_transactions(app, sub).await;
    assert_eq!(
        connections_of(&transactions),
        HashSet::from([kept.to_owned()])
    );
    let filtered = app
        .get(&format!("/v1/transactions?connectionId={gone}"), sub)
        .await;
    assert_eq!(filtered.status, 200);
    assert_eq!(filtered.body["data"], json!([]));
    transactions
}

#[tokio::test]
async fn deleting_one_of_two_banks_purges_it_and_no_route_answers_its_data_again() {
    let app = spawn_app().await;
    let (gone, kept) = two_banks(&app, "alice").await;
    let mut copy = Copy::default();
    copy.sync(&app, "alice").await;
    let gone_transactions: HashSet<String> = copy
        .transactions
        .values()
        .filter(|t| t["connectionId"] == gone.as_str())
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!gone_transactions.is_empty());
    let one_account = app.get("/v1/accounts", "alice").await.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["connectionId"] == gone.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let one_transaction = gone_transactions.iter().next().unwrap().clone();

    let r = app
        .delete(&format!("/v1/connections/{gone}"), "alice")
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);

    // Basiq was asked to purge the data before deleting the connection (data.json:
    // deleteConnection "does not include the existing account and transaction data").
    let calls: Vec<(String, String)> = app
        .sim_requests()
        .await
        .iter()
        .filter(|r| r["path"].as_str().unwrap().contains(&gone))
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_owned(),
                r["path"].as_str().unwrap().to_owned(),
            )
        })
        .filter(|(m, _)| m != "GET")
        .collect();
    assert!(
        calls.ends_with(&[
            (
                "POST".into(),
                format!(
                    "/users/{}/connections/{gone}/purge",
                    app.basiq_user_id("alice").await
                )
            ),
            (
                "DELETE".into(),
                format!(
                    "/users/{}/connections/{gone}",
                    app.basiq_user_id("alice").await
                )
            ),
        ]),
        "{calls:?}"
    );
    only_kept_is_answered(&app, "alice", &gone, &kept).await;
    for path in [
        format!("/v1/accounts/{one_account}"),
        format!("/v1/transactions/{one_transaction}"),
    ] {
        assert_eq!(app.get(&path, "alice").await.status, 404, "{path}");
    }

    // The next sync removes exactly the deleted bank's transactions, once.
    let changes = copy.sync(&app, "alice").await;
    assert!(changes.added.is_empty() && changes.modified.is_empty());
    assert_eq!(
        changes.removed.iter().cloned().collect::<HashSet<_>>(),
        gone_transactions
    );
    assert_eq!(changes.removed.len(), gone_transactions.len());
    assert_eq!(
        connections_of(&copy.transactions.values().cloned().collect::<Vec<_>>()),
        HashSet::from([kept.clone()])
    );
    let again = copy.sync(&app, "alice").await;
    assert!(again.removed.is_empty() && again.added.is_empty());
    // What the store held of them is erased: no sealed body of theirs is left.
    let bodies: i64 = sqlx::query_scalar(
        "select count(*) from sync_changes where record_id = any($1) and body_sealed is not null",
    )
    .bind(gone_transactions.iter().cloned().collect::<Vec<_>>())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(bodies, 0);
    // A fresh copy never sees them.
    let mut fresh = Copy::default();
    fresh.sync(&app, "alice").await;
    assert!(
        fresh
            .transactions
            .keys()
            .all(|id| !gone_transactions.contains(id))
    );
}

#[tokio::test]
async fn clients_synced_before_during_and_after_a_deletion_all_end_with_the_kept_bank_only() {
    let app = spawn_app().await;
    let (gone, kept) = two_banks(&app, "alice").await;
    // One copy is whole, one is part-way through its first sync, when the bank is deleted.
    let mut whole = Copy::default();
    whole.sync(&app, "alice").await;
    let mut midway = Copy::default();
    let (_, more) = midway.page(&app, "alice", 200).await;
    assert!(more);
    assert_eq!(
        app.delete(&format!("/v1/connections/{gone}"), "alice")
            .await
            .status,
        204
    );
    // One starts after it. Each asserts as it goes that nothing is removed that it never had,
    // and nothing added twice.
    let mut after = Copy::default();
    for copy in [&mut whole, &mut midway, &mut after] {
        loop {
            let (_, more) = copy.page(&app, "alice", 150).await;
            if !more {
                break;
            }
        }
        let connections: HashSet<String> = copy
            .transactions
            .values()
            .map(|t| t["connectionId"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(connections, HashSet::from([kept.clone()]));
    }
    assert_eq!(whole.transactions.len(), after.transactions.len());
    assert_eq!(midway.transactions.len(), after.transactions.len());
}

#[tokio::test]
async fn a_connection_deleted_in_basiqs_dashboard_is_never_answered_though_basiq_keeps_its_data() {
    let app = spawn_app_with(Setup {
        webhooks: true,
        ..Setup::default()
    })
    .await;
    let (gone, kept) = two_banks(&app, "alice").await;
    let basiq_user = app.basiq_user_id("alice").await;
    let mut copy = Copy::default();
    copy.sync(&app, "alice").await;
    // Deleted at Basiq (its dashboard, or another app): no purge, so Basiq keeps the data,
    // and the BFF learns it from the `connection.deleted` webhook.
    app.basiq_delete(&format!("/users/{basiq_user}/connections/{gone}"))
        .await;
    app.eventually("the connection is known as deleted", |pool| {
        let gone = gone.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from deleted_connections where connection_id = $1",
            )
            .bind(gone)
            .fetch_one(&pool)
            .await
            .unwrap()
                == 1
        }
    })
    .await;
    let ghost = app
        .basiq_get(&format!(
            "/users/{basiq_user}/transactions?filter=connection.id.eq('{gone}')"
        ))
        .await;
    assert!(
        !ghost["data"].as_array().unwrap().is_empty(),
        "Basiq still lists the deleted connection's transactions"
    );
    only_kept_is_answered(&app, "alice", &gone, &kept).await;
    let changes = copy.sync(&app, "alice").await;
    assert!(!changes.removed.is_empty());
    assert!(changes.added.is_empty());
    assert!(
        copy.transactions
            .values()
            .all(|t| t["connectionId"] == kept.as_str())
    );
    // A later change at Basiq brings nothing of it back (the refresh leaves it out).
    app.sim_post(
        &format!("/__sim/users/{basiq_user}/transactions"),
        json!({"add": [{"count": 2, "description": "LATE GHOST"}]}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    copy.sync(&app, "alice").await;
    assert!(
        copy.transactions
            .values()
            .all(|t| t["connectionId"] == kept.as_str())
    );
}

#[tokio::test]
async fn a_failed_purge_deletes_nothing_and_answers_the_upstream_problem() {
    let app = spawn_app().await;
    let jobs = app
        .connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let connection = app.wait_for_job("alice", &jobs[0]).await["connectionId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.sim_post(
        "/__sim/faults",
        json!({"path": "/purge", "method": "POST", "status": 503}),
    )
    .await;
    let r = app
        .delete(&format!("/v1/connections/{connection}"), "alice")
        .await;
    assert_eq!(r.status, 503, "{:?}", r.body);
    assert_eq!(r.body["code"], "upstream_unavailable");
    app.sim_delete("/__sim/faults").await;
    let listed = app.get("/v1/connections", "alice").await;
    assert_eq!(listed.body["data"][0]["id"], connection.as_str());
    assert!(
        !app.get("/v1/accounts", "alice").await.body["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let deletes = app
        .sim_requests()
        .await
        .iter()
        .filter(|r| r["method"] == "DELETE")
        .count();
    assert_eq!(deletes, 0, "Basiq was not asked to delete");
}

#[tokio::test]
async fn purging_keeps_the_connection_and_a_refresh_brings_the_data_back() {
    let app = spawn_app().await;
    let jobs = app
        .connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let connection = app.wait_for_job("alice", &jobs[0]).await["connectionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut copy = Copy::default();
    copy.sync(&app, "alice").await;
    let before = copy.transactions.len();
    let r = app
        .post(
            &format!("/v1/connections/{connection}/purge"),
            "alice",
            json!({}),
        )
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(
        app.get("/v1/connections", "alice").await.body["data"][0]["id"],
        connection.as_str()
    );
    assert_eq!(
        app.get("/v1/accounts", "alice").await.body["data"],
        json!([])
    );
    assert!(listed_transactions(&app, "alice").await.is_empty());
    // The copy follows once its refresh has run.
    for _ in 0..100 {
        if copy.transactions.is_empty() {
            break;
        }
        copy.sync(&app, "alice").await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        copy.transactions.is_empty(),
        "the copy drops the purged data"
    );
    // A refresh fetches it again.
    let job = app
        .post(
            &format!("/v1/connections/{connection}/refresh"),
            "alice",
            json!({}),
        )
        .await;
    assert_eq!(job.status, 200, "{:?}", job.body);
    let job = app
        .wait_for_job("alice", job.body["id"].as_str().unwrap())
        .await;
    assert_eq!(job["status"], "succeeded");
    assert_eq!(listed_transactions(&app, "alice").await.len(), before);
}

#[tokio::test]
async fn an_inactive_connection_cannot_be_purged_but_can_be_deleted() {
    let app = spawn_app().await;
    let jobs = app.start_connect_bank("alice", "bighead", "password").await;
    let connection = app.wait_for_job("alice", &jobs[0]).await["connectionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .post(
            &format!("/v1/connections/{connection}/purge"),
            "alice",
            json!({}),
        )
        .await;
    assert_eq!(r.status, 409, "{:?}", r.body);
    assert_eq!(r.body["code"], "connection_not_active");
    let r = app
        .delete(&format!("/v1/connections/{connection}"), "alice")
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(
        app.get("/v1/connections", "alice").await.body["data"],
        json!([])
    );
    assert!(
        !app.sim_requests()
            .await
            .iter()
            .any(|r| r["path"].as_str().unwrap().ends_with("/purge")),
        "Basiq purges active connections only: it was not asked"
    );
}

/// `sub` with a Hooli (web) connection whose next refresh fails at `step` with `code`: the job
/// as its final `job.updated` event showed it, and as `GET /v1/jobs/{id}` shows it.
async fn refresh_failing_with(app: &TestApp, sub: &str, step: &str, code: &str) -> (Value, Value) {
    let jobs = app.connect_bank(sub, "Wentworth-Smith", "whislter").await;
    let connection = app.wait_for_job(sub, &jobs[0]).await["connectionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let basiq_user = app.basiq_user_id(sub).await;
    app.sim_post(
        &format!("/__sim/users/{basiq_user}/connections/{connection}/next-job"),
        json!({"step": step, "code": code, "detail": "as the bank said it"}),
    )
    .await;
    let mut stream = Stream::open(app, sub, None).await;
    let job = app
        .post(
            &format!("/v1/connections/{connection}/refresh"),
            sub,
            json!({}),
        )
        .await;
    assert_eq!(job.status, 200, "{:?}", job.body);
    let id = job.body["id"].as_str().unwrap().to_owned();
    let events = stream
        .until(|e| {
            e.event == "job.updated"
                && e.data["id"] == id.as_str()
                && !matches!(e.data["status"].as_str(), Some("pending" | "in_progress"))
        })
        .await;
    let event = events.last().unwrap().data.clone();
    let polled = app.wait_for_job(sub, &id).await;
    (event, polled)
}

/// Drives a real job to each of `codes` (one user each, at once) and checks the row's outcome
/// in the job, in its `job.updated` event, and on the connection.
async fn row_outcome(codes: &[&str], status: &str, action: &str, attention: Option<&str>) {
    let app = spawn_app().await;
    let runs = codes.iter().enumerate().map(|(i, code)| {
        let app = &app;
        async move {
            let sub = format!("user-{i}");
            // Basiq's invalidating codes are also checked at a later step.
            let step = if i % 2 == 0 {
                "verify-credentials"
            } else {
                "retrieve-accounts"
            };
            let (event, polled) = refresh_failing_with(app, &sub, step, code).await;
            for job in [&event, &polled] {
                assert_eq!(job["status"], status, "{code}: {job}");
                assert_eq!(job["error"]["code"], *code, "{code}");
                assert_eq!(job["error"]["userAction"], action, "{code}");
                assert_eq!(job["error"]["detail"], "as the bank said it", "{code}");
                assert_eq!(
                    job["error"]["retryAfterSeconds"].as_u64(),
                    (action == "retry_later").then_some(600),
                    "{code}"
                );
                assert_eq!(job["error"]["institutionStatus"], "operational", "{code}");
            }
            let connection = &app.get("/v1/connections", &sub).await.body["data"][0];
            match attention {
                Some(reason) => {
                    assert_eq!(connection["needsAttention"], true, "{code}: {connection}");
                    // Basiq invalidates the connection for some of these: that says it too.
                    let got = connection["attentionReason"].as_str().unwrap();
                    assert!(got == reason || got == "invalid", "{code}: {got}");
                }
                None => assert_eq!(connection["needsAttention"], false, "{code}: {connection}"),
            }
        }
    });
    futures_util::future::join_all(runs).await;
}

// One test per row of the outcome table (src/domain/jobs.rs, README "Job outcomes"), each
// code of the row driven to a real failure through the simulator.

#[tokio::test]
async fn credentials_the_bank_refused_ask_the_user_to_reenter_them() {
    row_outcome(
        &[
            "invalid-credentials",
            "invalid-username-or-password",
            "authorization-failed",
            "invalid-connection",
        ],
        "action_required",
        "reenter_credentials",
        Some("reenter_credentials"),
    )
    .await;
}

#[tokio::test]
async fn a_locked_account_or_a_prompt_at_the_bank_sends_the_user_to_the_bank() {
    row_outcome(
        &[
            "locked-account",
            "multifactor-required",
            "multi-factor-authentication",
            "account-not-accessible-requires-user-action",
            "user-action-required",
        ],
        "action_required",
        "visit_bank",
        Some("visit_bank"),
    )
    .await;
}

#[tokio::test]
async fn a_bank_that_cannot_be_connected_this_way_asks_for_another() {
    row_outcome(
        &[
            "institution-not-found",
            "institution-disabled",
            "institution-not-supported",
            "too-many-sandbox-connections",
            "missing-required-field",
            "missing-required-field-value",
            "invalid-field-value",
            "invalid-csv-row",
            "row-count-exceeded",
            "account-data-differs",
            "empty-file",
            "bank-statement-invalid",
            "bank-statement-new-product",
            "bank-statement-parsing-error",
            "bank-statement-not-supported",
            "txn-after-last-updated-date",
        ],
        "failed",
        "choose_another_bank",
        Some("choose_another_bank"),
    )
    .await;
}

#[tokio::test]
async fn a_bank_that_is_down_is_retried_later() {
    row_outcome(
        &[
            "service-unavailable",
            "system-unavailable",
            "maintenance",
            "institution-not-available",
        ],
        "failed",
        "retry_later",
        None,
    )
    .await;
}

#[tokio::test]
async fn a_failure_on_basiqs_side_tells_the_user_to_wait() {
    row_outcome(
        &[
            "connector-error",
            "unknown-error",
            "job-timed-out",
            "internal-server-error",
            "parameter-not-supplied",
            "resource-not-found",
        ],
        "failed",
        "wait",
        None,
    )
    .await;
}

#[tokio::test]
async fn a_code_basiq_does_not_document_is_wait_and_is_counted() {
    row_outcome(&["brand-new-basiq-code"], "failed", "wait", None).await;
    let app = spawn_app().await;
    let metrics = app.get_unauthenticated("/metrics").await;
    let text = metrics.body.as_str().unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("basiq_unknown_job_codes_total{code=\"brand-new-basiq-code\"}")),
        "{text}"
    );
}

#[tokio::test]
async fn a_bank_in_a_major_outage_says_so_and_is_retried_in_an_hour() {
    let app = spawn_app().await;
    // Before the BFF first reads Basiq's connectors list (it keeps it for an hour).
    app.sim_post(
        "/__sim/institutions/AU00000/status",
        json!({"status": "major-outage"}),
    )
    .await;
    let (event, polled) =
        refresh_failing_with(&app, "alice", "verify-credentials", "maintenance").await;
    for job in [event, polled] {
        assert_eq!(job["error"]["userAction"], "retry_later");
        assert_eq!(job["error"]["retryAfterSeconds"], 3600);
        assert_eq!(job["error"]["institutionStatus"], "major-outage");
    }
    let connection = &app.get("/v1/connections", "alice").await.body["data"][0];
    assert_eq!(connection["institution"]["status"], "major-outage");
    assert_eq!(connection["needsAttention"], false, "not the user's to fix");
}

#[tokio::test]
async fn a_refresh_stopped_by_the_banks_challenge_is_answered_wrongly_then_rightly() {
    let app = spawn_app().await;
    // Pied Piper Bank always asks on a refresh; gavinBelson's is a security question
    // (reference/TOPICS/testing.md, "MFA users").
    let jobs = app
        .start_connect_bank_at("alice", "AU00002", "gavinBelson", "hooli2016")
        .await;
    let connection = app.wait_for_job("alice", &jobs[0]).await["connectionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let accounts_before = app.get("/v1/accounts", "alice").await.body["data"]
        .as_array()
        .unwrap()
        .len();
    let mut stream = Stream::open(&app, "alice", None).await;
    let job = app
        .post(
            &format!("/v1/connections/{connection}/refresh"),
            "alice",
            json!({}),
        )
        .await;
    let id = job.body["id"].as_str().unwrap().to_owned();
    let waiting = stream
        .until(|e| {
            e.event == "job.updated"
                && e.data["id"] == id.as_str()
                && e.data["status"] == "action_required"
        })
        .await
        .pop()
        .unwrap()
        .data;
    assert_eq!(waiting["error"]["userAction"], "answer_mfa");
    assert_eq!(waiting["error"]["code"], "mfa-challenge");
    let challenge = &waiting["mfaChallenge"];
    assert_eq!(challenge["method"], "security-questions");
    assert_eq!(challenge["input"], json!(["What's your first company?"]));
    assert!(challenge["expiresAt"].is_string(), "{challenge}");
    assert_eq!(
        app.wait_for_job("alice", &id).await["mfaChallenge"],
        *challenge
    );

    let path = format!("/v1/jobs/{id}/mfa");
    // Someone else cannot answer it; nonsense never reaches Basiq.
    assert_eq!(
        app.post(&path, "mallory", json!({"responses": ["Hooli"]}))
            .await
            .status,
        404
    );
    for (body, field) in [
        (json!({"responses": []}), "responses"),
        (json!({"responses": ["a", "b"]}), "responses"),
        (json!({"responses": ["\u{7}"]}), "responses[0]"),
        (json!({"answers": ["Hooli"]}), "answers"),
    ] {
        let a = app.post(&path, "alice", body.clone()).await;
        assert_eq!(a.status, 400, "{body}: {:?}", a.body);
        assert_eq!(a.problem_field(), Some(field), "{body}");
    }
    let wrong = app
        .post(&path, "alice", json!({"responses": ["Pied Piper"]}))
        .await;
    assert_eq!(wrong.status, 422, "{:?}", wrong.body);
    assert_eq!(wrong.body["code"], "mfa_rejected");
    assert_eq!(wrong.problem_field(), Some("responses"));
    assert_eq!(
        app.wait_for_job("alice", &id).await["error"]["userAction"],
        "answer_mfa"
    );

    let right = app
        .post(&path, "alice", json!({"responses": ["Hooli"]}))
        .await;
    assert_eq!(right.status, 200, "{:?}", right.body);
    let done = stream
        .until(|e| {
            e.event == "job.updated"
                && e.data["id"] == id.as_str()
                && e.data["status"] == "succeeded"
        })
        .await;
    assert!(done.last().unwrap().data["mfaChallenge"].is_null());
    stream.until(|e| e.event == "data.updated").await;
    assert_eq!(
        app.get("/v1/accounts", "alice").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        accounts_before
    );
    // Answered, it no longer waits.
    let again = app
        .post(&path, "alice", json!({"responses": ["Hooli"]}))
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["code"], "job_not_waiting_for_mfa");
    // The answers were sent to Basiq with a client token of the user, and never logged: the
    // request log records the call, not its body.
    let answered = app
        .sim_requests()
        .await
        .iter()
        .filter(|r| r["path"] == format!("/jobs/{id}/mfa").as_str())
        .count();
    assert_eq!(answered, 2);
}

#[tokio::test]
async fn admin_webhooks_ensure_twice_registers_one_subscription_and_shows_its_secret_once() {
    let app = spawn_app().await;
    let ours = format!("{}/webhooks/basiq", app.base);
    let first = app.run_bff(&["admin", "webhooks", "ensure"], &[]).await;
    assert_eq!(first.code, Some(0), "{first:?}");
    let secret = first
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("BASIQ_WEBHOOK_SECRET="))
        .unwrap_or_else(|| panic!("{}", first.stdout))
        .to_owned();
    assert!(secret.starts_with("whsec_"));
    let second = app.run_bff(&["admin", "webhooks", "ensure"], &[]).await;
    assert_eq!(second.code, Some(0), "{second:?}");
    assert!(
        second.stdout.contains("already subscribed"),
        "{}",
        second.stdout
    );
    assert!(
        !second.stdout.contains("whsec_"),
        "the secret is shown once"
    );
    assert!(!second.stderr.contains("whsec_") && !first.stderr.contains("whsec_"));
    let at_basiq = app.basiq_get("/notifications/webhooks").await;
    let subscriptions: Vec<&Value> = at_basiq["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["url"] == ours.as_str())
        .collect();
    assert_eq!(subscriptions.len(), 1, "{at_basiq}");
    let events: HashSet<&str> = subscriptions[0]["subscribedEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    for handled in [
        "consent.revoked",
        "connection.deleted",
        "consent.reminder",
        "transactions.updated",
    ] {
        assert!(events.contains(handled), "{handled}");
    }
    let list = app.run_bff(&["admin", "webhooks", "list"], &[]).await;
    assert_eq!(list.code, Some(0), "{list:?}");
    assert!(
        list.stdout
            .lines()
            .any(|l| l.starts_with("* ") && l.contains(&ours)),
        "{}",
        list.stdout
    );
    assert!(
        list.stdout.contains("receives every event"),
        "{}",
        list.stdout
    );
    let test = app
        .run_bff(
            &["admin", "webhooks", "test", "--event", "consent.updated"],
            &[],
        )
        .await;
    assert_eq!(test.code, Some(0), "{test:?}");
    assert!(
        app.sim_requests()
            .await
            .iter()
            .any(|r| r["method"] == "POST" && r["path"] == "/notifications/messages/test")
    );
    let bad = app
        .run_bff(&["admin", "webhooks", "test", "--event", "nonsense"], &[])
        .await;
    assert_eq!(bad.code, Some(2), "{bad:?}");
}

#[tokio::test]
async fn a_subscription_basiq_removed_after_failed_deliveries_is_noticed_and_its_events_recovered()
{
    let mut setup = Setup {
        webhooks: true,
        ..Setup::default()
    };
    // The BFF holds another secret than Basiq signs with: every delivery is refused, and
    // Basiq's retries (27 hours, scaled down to a few seconds) run out.
    setup.env.push((
        "BASIQ_WEBHOOK_SECRET",
        "whsec_YW5vdGhlci1zZWNyZXQtdGhhbi1iYXNpcXMtMTIzNA==".to_owned(),
    ));
    setup.sim.webhook_retry_scale = 0.00002;
    setup.options.recovery_interval = std::time::Duration::from_millis(300);
    let app = spawn_app_with(setup).await;
    let ready = app.get_unauthenticated("/readyz").await;
    assert_eq!(ready.body["warnings"], json!([]), "{:?}", ready.body);
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let mut warned = Value::Null;
    for _ in 0..200 {
        warned = app.get_unauthenticated("/readyz").await.body;
        if warned["warnings"].as_array().is_some_and(|w| !w.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let warning = warned["warnings"][0]
        .as_str()
        .unwrap_or_else(|| panic!("{warned}"));
    assert!(warning.contains("admin webhooks ensure"), "{warning}");
    assert_eq!(warned["status"], "ready", "readiness is unaffected");
    // Meanwhile, what Basiq no longer sends is recovered from its GET /events.
    let basiq_user = app.basiq_user_id("alice").await;
    app.sim_post(
        &format!("/__sim/users/{basiq_user}/consents/revoke"),
        json!({}),
    )
    .await;
    app.eventually(
        "the revocation is recovered and acted on",
        |pool| async move {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from processed_events
              where event_type = 'consent.revoked' and source = 'recovered'",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
                == 1
        },
    )
    .await;
    let jobs: i64 = sqlx::query_scalar("select count(*) from jobs where app_user_id = 'alice'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(jobs, 0, "the user's data is erased");
}

#[tokio::test]
async fn basiqs_consent_reminder_is_told_as_a_consent_update() {
    let app = spawn_app_with(Setup {
        webhooks: true,
        ..Setup::default()
    })
    .await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let basiq_user = app.basiq_user_id("alice").await;
    let consent = app.get("/v1/consents", "alice").await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut stream = Stream::open(&app, "alice", None).await;
    app.sim_post(
        &format!("/__sim/users/{basiq_user}/consents/{consent}/reminder"),
        json!({}),
    )
    .await;
    let event = stream
        .until(|e| e.event == "consent.updated")
        .await
        .pop()
        .unwrap();
    assert_eq!(event.data["change"], "reminder");
    assert_eq!(event.data["consentId"], consent.as_str());
}

#[tokio::test]
async fn a_connection_already_gone_at_basiq_is_still_forgotten_when_the_user_deletes_it() {
    // No webhooks: the BFF has not heard that the connection went.
    let app = spawn_app().await;
    let (gone, kept) = two_banks(&app, "alice").await;
    let basiq_user = app.basiq_user_id("alice").await;
    app.basiq_delete(&format!("/users/{basiq_user}/connections/{gone}"))
        .await;
    // (An earlier attempt may have got this far and failed: the user tries again.)
    let r = app
        .delete(&format!("/v1/connections/{gone}"), "alice")
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    only_kept_is_answered(&app, "alice", &gone, &kept).await;
    // Someone else's, or an unknown, connection is still 404.
    let r = app
        .delete(&format!("/v1/connections/{gone}"), "mallory")
        .await;
    assert_eq!(r.status, 404);
    let r = app.delete("/v1/connections/never-was", "alice").await;
    assert_eq!(r.status, 404);
}

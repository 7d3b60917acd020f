//! Basiq as its own documentation describes it (issue "Basiq as it really behaves"): a deleted
//! connection's data is gone from every route although Basiq keeps it, purge, and (with the
//! outcome table, MFA and bank status) what a job tells the user.

use std::collections::HashSet;

use serde_json::{Value, json};

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

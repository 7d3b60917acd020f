//! Delete versus purge (data.json: deleteConnection "does not include the existing account and
//! transaction data"; purgeConnectionData "Purging is only applicable for active user
//! connections").

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::schema::assert_conforms;

fn ids(list: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = list
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Accounts, transactions (paged by 100), one of each, and both filtered on the connection.
struct Seen {
    accounts: Vec<String>,
    transactions: Vec<String>,
    account: StatusCode,
    transaction: StatusCode,
    filtered_accounts: usize,
    filtered_transactions: usize,
    pending: usize,
}

async fn seen(
    sim: &TestSim,
    token: &str,
    user: &str,
    connection: &str,
    probe: &(String, String),
) -> Seen {
    let (_, accounts) = sim.get(token, &format!("/users/{user}/accounts")).await;
    let accounts = accounts["data"].as_array().unwrap().clone();
    let transactions = sim
        .all_transactions(token, &format!("/users/{user}/transactions?limit=100"))
        .await;
    let by_connection = urlencode(&format!("connection.id.eq('{connection}')"));
    let (_, filtered_accounts) = sim
        .get(
            token,
            &format!("/users/{user}/accounts?filter={by_connection}"),
        )
        .await;
    let (_, filtered) = sim
        .get(
            token,
            &format!("/users/{user}/transactions?filter={by_connection}"),
        )
        .await;
    let pending = urlencode(&format!(
        "connection.id.eq('{connection}'),transaction.status.eq('pending')"
    ));
    let (_, pending) = sim
        .get(
            token,
            &format!("/users/{user}/transactions?filter={pending}"),
        )
        .await;
    let (account, _) = sim
        .get(token, &format!("/users/{user}/accounts/{}", probe.0))
        .await;
    let (transaction, _) = sim
        .get(token, &format!("/users/{user}/transactions/{}", probe.1))
        .await;
    Seen {
        accounts: ids(&accounts),
        transactions: ids(&transactions),
        account,
        transaction,
        filtered_accounts: filtered_accounts["data"].as_array().unwrap().len(),
        filtered_transactions: filtered["size"].as_u64().unwrap() as usize,
        pending: pending["size"].as_u64().unwrap() as usize,
    }
}

/// An account id and a transaction id of the user.
async fn probe(sim: &TestSim, token: &str, user: &str) -> (String, String) {
    let (_, accounts) = sim.get(token, &format!("/users/{user}/accounts")).await;
    let (_, transactions) = sim
        .get(token, &format!("/users/{user}/transactions?limit=1"))
        .await;
    (
        accounts["data"][0]["id"].as_str().unwrap().to_owned(),
        transactions["data"][0]["id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_deleted_connection_is_gone_but_its_data_is_still_served_as_basiq_keeps_it() {
    let sim = spawn_sim().await;
    let (token, user, connection) = sim.connected_user().await;
    let probe = probe(&sim, &token, &user).await;
    let before = seen(&sim, &token, &user, &connection, &probe).await;
    assert_eq!(before.accounts.len(), 4);
    assert!(before.transactions.len() > 500, "more than one page");
    assert!(before.pending > 0);

    let path = format!("/users/{user}/connections/{connection}");
    assert_eq!(sim.delete(&token, &path).await.0, StatusCode::NO_CONTENT);
    assert_eq!(sim.get(&token, &path).await.0, StatusCode::NOT_FOUND);
    let (_, list) = sim.get(&token, &format!("/users/{user}/connections")).await;
    assert!(list["data"].as_array().unwrap().is_empty());

    let after = seen(&sim, &token, &user, &connection, &probe).await;
    assert_eq!(after.accounts, before.accounts);
    assert_eq!(after.transactions, before.transactions);
    assert_eq!(
        (after.account, after.transaction),
        (StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(after.filtered_accounts, 4);
    assert_eq!(after.filtered_transactions, before.filtered_transactions);
    assert_eq!(after.pending, before.pending);
    let (_, account) = sim
        .get(&token, &format!("/users/{user}/accounts/{}", probe.0))
        .await;
    assert_eq!(account["status"], "unavailable", "its connection is gone");

    // The connection is gone, so it cannot be purged: its data stays until the user goes.
    let (status, body) = sim.post(&token, &format!("{path}/purge"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_of(&body).0, "resource-not-found");
    assert_eq!(
        seen(&sim, &token, &user, &connection, &probe)
            .await
            .accounts,
        before.accounts
    );
}

#[tokio::test]
async fn purging_an_active_connection_hides_its_data_until_a_later_successful_job() {
    let sim = spawn_sim().await;
    let (token, user, connection) = sim.connected_user().await;
    let probe = probe(&sim, &token, &user).await;
    let before = seen(&sim, &token, &user, &connection, &probe).await;
    let path = format!("/users/{user}/connections/{connection}");
    assert_eq!(
        sim.post(&token, &format!("{path}/purge"), None).await.0,
        StatusCode::NO_CONTENT
    );
    let purged = seen(&sim, &token, &user, &connection, &probe).await;
    assert!(purged.accounts.is_empty() && purged.transactions.is_empty());
    assert_eq!(
        (purged.account, purged.transaction),
        (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND)
    );
    assert_eq!(
        (
            purged.filtered_accounts,
            purged.filtered_transactions,
            purged.pending
        ),
        (0, 0, 0)
    );
    let (_, c) = sim.get(&token, &path).await;
    assert_eq!(c["status"], "active");
    assert_eq!(
        c["accounts"]["data"].as_array().unwrap().len(),
        0,
        "the connection lists no accounts either"
    );
    assert_eq!(
        sim.post(&token, &format!("{path}/purge"), None).await.0,
        StatusCode::NO_CONTENT,
        "still active"
    );

    let (_, stub) = sim.post(&token, &format!("{path}/refresh"), None).await;
    sim.wait_job(&token, stub["id"].as_str().unwrap()).await;
    let again = seen(&sim, &token, &user, &connection, &probe).await;
    assert_eq!(again.accounts, before.accounts);
    assert_eq!(again.transactions, before.transactions);
}

#[tokio::test]
async fn purging_a_connection_that_is_not_active_is_answered_400_parameter_not_valid() {
    let sim = spawn_with(basiq_sim::SimConfig {
        job_step: Duration::from_millis(500),
        ..config()
    })
    .await;
    let token = sim.server_token().await;
    let user = sim.create_user(&token).await;
    let purge = |connection: String| {
        let (sim, token, user) = (&sim, &token, &user);
        async move {
            sim.post(
                token,
                &format!("/users/{user}/connections/{connection}/purge"),
                None,
            )
            .await
        }
    };
    let check = |(status, body): (StatusCode, Value), what: &str| {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        assert_eq!(
            error_of(&body),
            (
                "parameter-not-valid",
                &json!({ "parameter": "connectionId" })
            ),
            "{what}"
        );
        assert_eq!(
            body["data"][0]["detail"],
            "Purging is only applicable for active user connections."
        );
        assert_conforms(
            "data",
            "/users/{userId}/connections/{connectionId}/purge",
            "post",
            400,
            &body,
        );
    };

    sim.connect(&user, "AU00000", "Wentworth-Smith", "whislter")
        .await;
    let (_, list) = sim.get(&token, &format!("/users/{user}/connections")).await;
    assert_eq!(list["data"][0]["status"], "pending");
    let pending = list["data"][0]["id"].as_str().unwrap().to_owned();
    check(purge(pending.clone()).await, "pending");

    let bad = sim.connect(&user, "AU00000", "bighead", "password").await;
    let invalid = connection_of(&sim.wait_job(&token, &bad).await);
    check(purge(invalid).await, "invalid");

    let r = sim
        .http
        .post(sim.url(&format!(
            "/__sim/users/{user}/connections/{pending}/invalidate"
        )))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    check(purge(pending).await, "invalidated");
}

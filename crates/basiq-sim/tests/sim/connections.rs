//! Connections: status, filters, refresh rules, re-authorisation, delete and purge.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_connection_failing_verify_credentials_is_invalid_and_a_good_one_active() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let user = sim.create_user(&token).await;
    let good = sim
        .connect(&user, "AU00000", "Wentworth-Smith", "whislter")
        .await;
    let good = connection_of(&sim.wait_job(&token, &good).await);
    let bad = sim.connect(&user, "AU00001", "bighead", "password").await;
    let bad = connection_of(&sim.wait_job(&token, &bad).await);
    let (_, c) = sim
        .get(&token, &format!("/users/{user}/connections/{good}"))
        .await;
    assert_eq!(
        (c["status"].as_str(), c["method"].as_str()),
        (Some("active"), Some("web"))
    );
    let (_, c) = sim
        .get(&token, &format!("/users/{user}/connections/{bad}"))
        .await;
    assert_eq!(
        (c["status"].as_str(), c["method"].as_str()),
        (Some("invalid"), Some("openbanking"))
    );
    assert!(c["expiryDate"].as_str().unwrap() > c["createdDate"].as_str().unwrap());

    let base = format!("/users/{user}/connections");
    let (_, all) = sim.get(&token, &base).await;
    assert_eq!(ids(&all).len(), 2);
    let filtered = |f: &str| format!("{base}?filter={}", urlencode(f));
    let (_, l) = sim
        .get(&token, &filtered("connection.status.eq('active')"))
        .await;
    assert_eq!(ids(&l), [good.as_str()]);
    let (_, l) = sim
        .get(&token, &filtered("institution.id.eq('AU00001')"))
        .await;
    assert_eq!(ids(&l), [bad.as_str()]);
    let (_, l) = sim
        .get(
            &token,
            &filtered(&format!(
                "connection.id.eq('{bad}'),connection.status.eq('invalid')"
            )),
        )
        .await;
    assert_eq!(ids(&l), [bad.as_str()]);
    // `ne` is Basiq's institutions endpoint's only (reference/TOPICS/collections-filters.md).
    let (status, _) = sim
        .get(&token, &filtered(&format!("connection.id.ne('{good}')")))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = sim
        .get(&token, &filtered("connection.status.gt('active')"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).1["parameter"], "filter");
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn a_refresh_while_a_job_runs_answers_200_with_the_same_job() {
    let sim = spawn_with(basiq_sim::SimConfig {
        job_step: Duration::from_millis(300),
        ..config()
    })
    .await;
    let token = sim.server_token().await;
    let user = sim.create_user(&token).await;
    let first = sim
        .connect(&user, "AU00000", "Wentworth-Smith", "whislter")
        .await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (_, job) = sim.get(&token, &format!("/jobs/{first}")).await;
    let connection = connection_of(&job);
    let path = format!("/users/{user}/connections/{connection}/refresh");
    let (status, stub) = sim.post(&token, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stub["id"], first.as_str());
    let (status, list) = sim
        .post(&token, &format!("/users/{user}/connections/refresh"), None)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(list["data"][0]["id"], first.as_str());

    sim.wait_job(&token, &first).await;
    let (status, stub) = sim.post(&token, &path, None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_ne!(stub["id"], first.as_str());
    assert_eq!(stub["type"], "job");
}

#[tokio::test]
async fn the_21st_open_banking_refresh_in_a_day_is_answered_429() {
    let sim = spawn_with(basiq_sim::SimConfig {
        job_step: Duration::ZERO,
        ..config()
    })
    .await;
    let token = sim.server_token().await;
    let user = sim.create_user(&token).await;
    let job = sim
        .connect(&user, "AU00001", "gavinBelson", "hooli2016")
        .await;
    let connection = connection_of(&sim.wait_job(&token, &job).await);
    let path = format!("/users/{user}/connections/{connection}/refresh");
    for n in 1..=20 {
        let (status, _) = sim.post(&token, &path, None).await;
        assert_eq!(status, StatusCode::ACCEPTED, "refresh {n}");
    }
    let (status, body) = sim.post(&token, &path, None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_of(&body).0, "too-many-requests");

    // Web connections have no such limit.
    let job = sim
        .connect(&user, "AU00000", "gavinBelson", "hooli2016")
        .await;
    let web = connection_of(&sim.wait_job(&token, &job).await);
    for _ in 0..21 {
        let (status, _) = sim
            .post(
                &token,
                &format!("/users/{user}/connections/{web}/refresh"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
}

#[tokio::test]
async fn reauthorising_with_a_connection_id_reuses_the_connection() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let user = sim.create_user(&token).await;
    let job = sim.connect(&user, "AU00000", "bighead", "password").await;
    let connection = connection_of(&sim.wait_job(&token, &job).await);
    let client = sim.client_token(&user).await;
    let r = sim
        .consent_connect(&[
            ("token", client.as_str()),
            ("state", "again"),
            ("institutionId", "AU00000"),
            ("connectionId", connection.as_str()),
            ("loginId", "Wentworth-Smith"),
            ("password", "whislter"),
        ])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let job = job_id_from_location(r.headers()["location"].to_str().unwrap());
    let job = sim.wait_job(&token, &job).await;
    assert_eq!(connection_of(&job), connection);
    let (_, list) = sim.get(&token, &format!("/users/{user}/connections")).await;
    assert_eq!(ids(&list), [connection.as_str()]);
    assert_eq!(list["data"][0]["status"], "active");
}

#[tokio::test]
async fn a_connection_carries_its_holders_profile_once_the_accounts_are_retrieved() {
    let sim = spawn_sim().await;
    let (token, user, connection) = sim.connected_user().await;
    let (_, c) = sim
        .get(&token, &format!("/users/{user}/connections/{connection}"))
        .await;
    let p = &c["profile"];
    // The sandbox login's persona, with the contact details the app gave Basiq.
    assert_eq!(p["fullName"], "Max James Wentworth-Smith");
    assert_eq!(
        (&p["firstName"], &p["middleName"], &p["lastName"]),
        (
            &Value::from("Max"),
            &Value::from("James"),
            &Value::from("Wentworth-Smith")
        )
    );
    assert_eq!(p["emailAddresses"], serde_json::json!(["gavin@hooli.test"]));
    assert_eq!(p["phoneNumbers"], serde_json::json!(["XXXX 000 000"]));
    let address = &p["physicalAddresses"][0];
    assert_eq!(address["countryCode"], "AU");
    assert!(address["addressLine2"].is_null() && address["addressLine3"].is_null());
    let formatted = address["formattedAddress"].as_str().unwrap();
    for part in ["addressLine1", "state", "postcode"] {
        assert!(
            formatted.contains(address[part].as_str().unwrap()),
            "{part}: {formatted}"
        );
    }
    let (_, list) = sim.get(&token, &format!("/users/{user}/connections")).await;
    assert!(list["data"][0].get("profile").is_none());

    // The same person connecting again is the same profile; a connection that never got its
    // accounts has none.
    let again = sim
        .connect(&user, "AU00001", "Wentworth-Smith", "whislter")
        .await;
    let again = connection_of(&sim.wait_job(&token, &again).await);
    let (_, c2) = sim
        .get(&token, &format!("/users/{user}/connections/{again}"))
        .await;
    assert_eq!(&c2["profile"], p);
    let stuck = sim.connect(&user, "AU00000", "erlich", "aviato").await;
    let stuck = connection_of(&sim.wait_job(&token, &stuck).await);
    let (status, c3) = sim
        .get(&token, &format!("/users/{user}/connections/{stuck}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(c3.get("profile").is_none(), "{c3}");
}

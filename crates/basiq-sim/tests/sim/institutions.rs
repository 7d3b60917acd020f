//! The sandbox institutions: Basiq's test banks, in every answer that lists them.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// (id, name, method, status) of each listed institution.
fn summary(list: &Value, name: &str) -> Vec<(String, String, String, String)> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let text = |v: &Value| v.as_str().unwrap().to_owned();
            (
                text(&i["id"]),
                text(if i["name"].is_string() {
                    &i["name"]
                } else {
                    &i["institution"][name]
                }),
                text(&i["method"]),
                text(&i["status"]),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_sandbox_institutions_are_basiqs_test_banks_with_pied_piper_and_nucleus_on_the_web() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let expected: Vec<(String, String, String, String)> = [
        ("AU00000", "Hooli", "web"),
        ("AU00001", "Hooli Open Banking", "openbanking"),
        ("AU00002", "Pied Piper Bank", "web"),
        ("AU00003", "Nucleus Bank", "web"),
    ]
    .iter()
    .map(|(id, name, method)| {
        let s = |v: &str| v.to_owned();
        (s(id), s(name), s(method), s("operational"))
    })
    .collect();
    let (status, connectors) = sim.get(&token, "/connectors").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(summary(&connectors, "name"), expected);
    let (status, institutions) = sim.get(&token, "/institutions").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(summary(&institutions, "name"), expected);
    // Basiq's connector schema names the MFA banks' authorization types.
    let authorizations = ["user", "user", "user-mfa", "user-mfa-intermittent"];
    for ((id, _, method, _), authorization) in expected.iter().zip(authorizations) {
        let (status, one) = sim.get(&token, &format!("/connectors/{id}/{method}")).await;
        assert_eq!(status, StatusCode::OK, "{id}");
        assert_eq!(one["authorization"]["type"], authorization, "{id}");
        let (_, old) = sim.get(&token, &format!("/institutions/{id}")).await;
        assert_eq!(old["authorization"], authorization, "{id}");
    }

    let user = sim.create_user(&token).await;
    let client = sim.client_token(&user).await;
    let html = sim
        .http
        .get(sim.url(&format!("/consent/home?token={client}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (id, name, _, _) in &expected {
        assert!(
            html.contains(&format!("<option value=\"{id}\">{name} (")),
            "{id} in the picker"
        );
    }
}

pub async fn set_status(sim: &TestSim, id: &str, body: serde_json::Value) -> StatusCode {
    sim.http
        .post(sim.url(&format!("/__sim/institutions/{id}/status")))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn an_institutions_status_set_by_the_control_route_shows_everywhere_and_fails_no_job() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    assert_eq!(
        set_status(
            &sim,
            "AU00002",
            serde_json::json!({ "status": "major-outage" })
        )
        .await,
        StatusCode::NO_CONTENT
    );
    let (_, connectors) = sim.get(&token, "/connectors").await;
    let statuses: Vec<String> = summary(&connectors, "name")
        .into_iter()
        .map(|(_, _, _, status)| status)
        .collect();
    assert_eq!(
        statuses,
        ["operational", "operational", "major-outage", "operational"]
    );
    let (_, one) = sim.get(&token, "/connectors/AU00002/web").await;
    assert_eq!(one["status"], "major-outage");
    let (_, institution) = sim.get(&token, "/institutions/AU00002").await;
    assert_eq!(institution["status"], "major-outage");
    let (_, institutions) = sim.get(&token, "/institutions").await;
    assert_eq!(institutions["data"][2]["status"], "major-outage");
    let user = sim.create_user(&token).await;
    let client = sim.client_token(&user).await;
    let html = sim
        .http
        .get(sim.url(&format!("/consent/home?token={client}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Pied Piper Bank (web, major-outage)"),
        "{html}"
    );

    // Jobs still end as the login does: the next-job route fails them.
    let job = sim
        .connect(&user, "AU00002", "laurieBream", "business2024")
        .await;
    let job = sim.wait_job(&token, &job).await;
    assert!(
        job["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "success")
    );

    assert_eq!(
        set_status(
            &sim,
            "AU00002",
            serde_json::json!({ "status": "operational" })
        )
        .await,
        StatusCode::NO_CONTENT
    );
    let (_, one) = sim.get(&token, "/connectors/AU00002/web").await;
    assert_eq!(one["status"], "operational");
}

#[tokio::test]
async fn an_unknown_institution_or_status_is_refused() {
    let sim = spawn_sim().await;
    let good = serde_json::json!({ "status": "partial-outage" });
    assert_eq!(
        set_status(&sim, "AU99999", good).await,
        StatusCode::NOT_FOUND
    );
    for body in [
        serde_json::json!({ "status": "on-fire" }),
        serde_json::json!({ "status": 1 }),
        serde_json::json!({}),
    ] {
        assert_eq!(
            set_status(&sim, "AU00000", body.clone()).await,
            StatusCode::BAD_REQUEST,
            "{body}"
        );
    }
}

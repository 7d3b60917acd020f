//! Any failure on demand: the next refresh job fails as asked, or stops at MFA
//! (`POST /__sim/users/{u}/connections/{c}/next-job`), and what a failure does to the connection
//! (reference/Core/events/index.md, connection.invalidated).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::mfa::{connected_at, refresh, statuses, titles, until_challenged_or_ended};
use crate::schema::assert_conforms;

async fn next_job(sim: &TestSim, user: &str, connection: &str, body: Value) -> (StatusCode, Value) {
    let r = sim
        .http
        .post(sim.url(&format!(
            "/__sim/users/{user}/connections/{connection}/next-job"
        )))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn connection_status(sim: &TestSim, token: &str, user: &str, connection: &str) -> String {
    let (_, c) = sim
        .get(token, &format!("/users/{user}/connections/{connection}"))
        .await;
    c["status"].as_str().unwrap().to_owned()
}

/// How many `connection.<kind>` events the user has had, once there are `expected` (the events
/// come a moment after the job's end) or a second has passed.
async fn connection_events(
    sim: &TestSim,
    token: &str,
    user: &str,
    kind: &str,
    expected: usize,
) -> usize {
    let mut count = 0;
    for _ in 0..100 {
        let (_, events) = sim.get(token, "/events").await;
        count = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["userId"] == user && e["entity"] == "connection" && e["eventType"] == kind
            })
            .count();
        if count >= expected {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    count
}

#[tokio::test]
async fn the_next_refresh_fails_at_the_asked_step_with_the_asked_result_once() {
    let sim = spawn_sim().await;
    let (token, user, connection) = sim.connected_user().await;
    let (status, _) = next_job(
        &sim,
        &user,
        &connection,
        json!({ "step": "retrieve-transactions", "code": "connector-error", "title": "T", "detail": "D" }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let failed = refresh(&sim, &token, &user, &connection).await;
    let failed = sim.wait_job(&token, &failed).await;
    assert_eq!(statuses(&failed), ["success", "success", "failed"]);
    assert_eq!(
        failed["steps"][2]["result"],
        json!({ "code": "connector-error", "title": "T", "detail": "D" })
    );
    assert_conforms("core", "/jobs/{jobId}", "get", 200, &failed);
    assert_eq!(
        connection_status(&sim, &token, &user, &connection).await,
        "active",
        "not a user-related failure"
    );

    let again = refresh(&sim, &token, &user, &connection).await;
    let again = sim.wait_job(&token, &again).await;
    assert_eq!(statuses(&again), ["success", "success", "success"], "once");

    next_job(
        &sim,
        &user,
        &connection,
        json!({ "step": "verify-credentials", "code": "maintenance" }),
    )
    .await;
    let failed = refresh(&sim, &token, &user, &connection).await;
    let failed = sim.wait_job(&token, &failed).await;
    assert_eq!(statuses(&failed), ["failed", "pending", "pending"]);
    assert_eq!(
        failed["steps"][0]["result"],
        json!({
            "code": "maintenance",
            "title": "Simulated failure",
            "detail": "The simulator was asked to fail this job.",
        })
    );
    assert_eq!(
        connection_status(&sim, &token, &user, &connection).await,
        "active",
        "the bank under maintenance is not the user's login: the connection is not invalidated \
         (reference/Core/events/index.md: user-related errors invalidate)"
    );
}

#[tokio::test]
async fn a_user_related_failure_at_any_step_invalidates_the_connection_with_its_event() {
    let sim = spawn_sim().await;
    let (token, user, connection) = sim.connected_user().await;
    let mut invalidated = 0;
    for (step, code) in [
        ("retrieve-accounts", "user-action-required"),
        ("retrieve-transactions", "invalid-username-or-password"),
        ("retrieve-accounts", "invalid-connection"),
        ("retrieve-transactions", "locked-account"),
        ("retrieve-accounts", "multifactor-required"),
        ("retrieve-transactions", "invalid-credentials"),
    ] {
        next_job(
            &sim,
            &user,
            &connection,
            json!({ "step": step, "code": code }),
        )
        .await;
        let job = refresh(&sim, &token, &user, &connection).await;
        sim.wait_job(&token, &job).await;
        assert_eq!(
            connection_status(&sim, &token, &user, &connection).await,
            "invalid",
            "{code}"
        );
        invalidated += 1;
        assert_eq!(
            connection_events(&sim, &token, &user, "invalidated", invalidated).await,
            invalidated,
            "{code}"
        );
        // A later job that succeeds activates it again.
        let job = refresh(&sim, &token, &user, &connection).await;
        sim.wait_job(&token, &job).await;
        assert_eq!(
            connection_status(&sim, &token, &user, &connection).await,
            "active",
            "{code}"
        );
    }
    assert_eq!(
        connection_events(&sim, &token, &user, "activated", 1 + 6).await,
        1 + 6
    );

    // Other failures after verify-credentials leave the connection as it was.
    next_job(
        &sim,
        &user,
        &connection,
        json!({ "step": "retrieve-accounts", "code": "account-not-accessible-requires-user-action" }),
    )
    .await;
    let job = refresh(&sim, &token, &user, &connection).await;
    sim.wait_job(&token, &job).await;
    assert_eq!(
        connection_status(&sim, &token, &user, &connection).await,
        "active"
    );
    tokio::time::sleep(STEP * 2).await;
    assert_eq!(
        connection_events(&sim, &token, &user, "invalidated", 6).await,
        6
    );
}

#[tokio::test]
async fn mfa_true_stops_the_next_refresh_at_the_logins_challenge_or_gavin_belsons() {
    let sim = spawn_sim().await;
    for (login, password, input) in [
        (
            "Whistler",
            "ShowBox",
            json!([
                "What's your favourite company?",
                "What's the ID of this institution?"
            ]),
        ),
        (
            "laurieBream",
            "business2024",
            json!(["What's your first company?"]),
        ),
    ] {
        // Hooli is no MFA bank: only the control route makes its job stop.
        let (token, user, connection) = connected_at(&sim, "AU00000", login, password).await;
        let (status, _) = next_job(&sim, &user, &connection, json!({ "mfa": true })).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let job_id = refresh(&sim, &token, &user, &connection).await;
        let job = until_challenged_or_ended(&sim, &token, &job_id).await;
        assert_eq!(job["steps"][1]["result"]["input"], input, "{login}");
        let answers = if login == "Whistler" {
            json!(["Basiq", "AU00000"])
        } else {
            json!(["Hooli"])
        };
        let client = sim.client_token(&user).await;
        let (status, _) = crate::mfa::answer(&sim, &client, &job_id, answers).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{login}");
        sim.wait_job(&token, &job_id).await;
        let later = refresh(&sim, &token, &user, &connection).await;
        let later = sim.wait_job(&token, &later).await;
        assert_eq!(titles(&later).len(), 3, "once: {later}");
    }
}

#[tokio::test]
async fn the_consent_ui_s_jobs_leave_the_asked_failure_to_the_next_refresh() {
    let sim = spawn_sim().await;
    let (token, user, connection) = sim.connected_user().await;
    next_job(
        &sim,
        &user,
        &connection,
        json!({ "step": "retrieve-accounts", "code": "connector-error" }),
    )
    .await;
    let client = sim.client_token(&user).await;
    let r = sim
        .consent_connect(&[
            ("token", client.as_str()),
            ("institutionId", "AU00000"),
            ("connectionId", connection.as_str()),
            ("loginId", "Wentworth-Smith"),
            ("password", "whislter"),
        ])
        .await;
    let reauthorised = job_id_from_location(r.headers()["location"].to_str().unwrap());
    let reauthorised = sim.wait_job(&token, &reauthorised).await;
    assert_eq!(statuses(&reauthorised), ["success", "success", "success"]);
    let job = refresh(&sim, &token, &user, &connection).await;
    let job = sim.wait_job(&token, &job).await;
    assert_eq!(statuses(&job), ["success", "failed", "pending"]);
}

#[tokio::test]
async fn a_bad_next_job_is_refused_naming_the_field_and_an_unknown_connection_is_404() {
    let sim = spawn_sim().await;
    let (token, user, connection) = sim.connected_user().await;
    for (body, field) in [
        (json!({}), "step"),
        (
            json!({ "step": "retrieve-statements", "code": "x" }),
            "step",
        ),
        (json!({ "step": "retrieve-accounts" }), "code"),
        (json!({ "step": "retrieve-accounts", "code": 1 }), "code"),
        (
            json!({ "step": "retrieve-accounts", "code": "x", "title": "" }),
            "title",
        ),
        (json!({ "mfa": false }), "mfa"),
        (json!({ "mfa": true, "code": "x" }), "mfa"),
        (json!({ "colour": "red" }), "colour"),
        (json!(["step"]), "object"),
    ] {
        let (status, answer) = next_job(&sim, &user, &connection, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            answer["error"].as_str().unwrap().contains(field),
            "{body}: {answer}"
        );
    }
    let good = json!({ "step": "retrieve-accounts", "code": "x" });
    let (status, _) = next_job(&sim, &user, "nope", good.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let other = sim.create_user(&token).await;
    let (status, _) = next_job(&sim, &other, &connection, good.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another user's connection");
    sim.delete(&token, &format!("/users/{user}/connections/{connection}"))
        .await;
    let (status, _) = next_job(&sim, &user, &connection, good).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a deleted connection");
}

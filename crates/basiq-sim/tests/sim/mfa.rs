//! MFA on refresh jobs (docs/PLatform/go-live-migration/go-list-for-upgrading-to-v30.md,
//! section 8; core.json postJobMfa; the MFA users of reference/TOPICS/testing.md).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

pub fn titles(job: &Value) -> Vec<&str> {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect()
}

pub fn statuses(job: &Value) -> Vec<&str> {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect()
}

/// Polls the job until it waits on its challenge or has ended; answers the job then.
pub async fn until_challenged_or_ended(sim: &TestSim, token: &str, job_id: &str) -> Value {
    for _ in 0..400 {
        let (status, job) = sim.get(token, &format!("/jobs/{job_id}")).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        let steps = job["steps"].as_array().unwrap();
        let challenged = steps
            .iter()
            .any(|s| s["title"] == "mfa-challenge" && s["status"] == "in-progress");
        let ended = steps.iter().all(|s| s["status"] == "success")
            || steps.iter().any(|s| s["status"] == "failed");
        if challenged || ended {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("job {job_id} neither waited on MFA nor ended");
}

/// A user connected through the Consent UI at `institution` with `login`, the connection's
/// job ended: (server token, user, connection).
pub async fn connected_at(
    sim: &TestSim,
    institution: &str,
    login: &str,
    password: &str,
) -> (String, String, String) {
    let token = sim.server_token().await;
    let user = sim.create_user(&token).await;
    let job = sim.connect(&user, institution, login, password).await;
    let job = sim.wait_job(&token, &job).await;
    (token, user, connection_of(&job))
}

pub async fn refresh(sim: &TestSim, token: &str, user: &str, connection: &str) -> String {
    let (status, stub) = sim
        .post(
            token,
            &format!("/users/{user}/connections/{connection}/refresh"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{stub}");
    stub["id"].as_str().unwrap().to_owned()
}

pub async fn answer(sim: &TestSim, token: &str, job: &str, response: Value) -> (StatusCode, Value) {
    sim.post(
        token,
        &format!("/jobs/{job}/mfa"),
        Some(json!({ "mfa-response": response })),
    )
    .await
}

#[tokio::test]
async fn a_refresh_at_pied_piper_waits_at_the_logins_challenge_then_runs_on_once_answered() {
    let sim = spawn_with(basiq_sim::SimConfig {
        job_step: Duration::from_millis(300),
        ..config()
    })
    .await;
    let token = sim.server_token().await;
    let user = sim.create_user(&token).await;
    // "The Consent UI handles MFA for first time connections": its job never stops.
    let first = sim.connect(&user, "AU00002", "Gilfoyle", "PiedPiper").await;
    let first = sim.wait_job(&token, &first).await;
    assert_eq!(
        titles(&first),
        [
            "verify-credentials",
            "retrieve-accounts",
            "retrieve-transactions"
        ]
    );
    let connection = connection_of(&first);

    let job_id = refresh(&sim, &token, &user, &connection).await;
    let (_, job) = sim.get(&token, &format!("/jobs/{job_id}")).await;
    assert_eq!(
        titles(&job),
        [
            "verify-credentials",
            "mfa-challenge",
            "retrieve-accounts",
            "retrieve-transactions"
        ]
    );
    assert_eq!(
        statuses(&job),
        ["in-progress", "pending", "pending", "pending"]
    );
    assert!(job["steps"][1]["result"].is_null(), "{job}");

    let job = until_challenged_or_ended(&sim, &token, &job_id).await;
    assert_eq!(
        statuses(&job),
        ["success", "in-progress", "pending", "pending"]
    );
    let challenge = &job["steps"][1]["result"];
    assert_eq!(
        challenge,
        &json!({
            "type": "mfa",
            "method": "security-questions",
            "description": "security-questions",
            "input": ["What's your first company?"],
            "expiryMs": 120000,
            "links": { "response": sim.url(&format!("/jobs/{job_id}/mfa")) },
        })
    );
    // Waiting on MFA is running: a refresh answers the same job.
    let path = format!("/users/{user}/connections/{connection}/refresh");
    let (status, stub) = sim.post(&token, &path, None).await;
    assert_eq!((status, &stub["id"]), (StatusCode::OK, &json!(job_id)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, still) = sim.get(&token, &format!("/jobs/{job_id}")).await;
    assert_eq!(
        statuses(&still),
        ["success", "in-progress", "pending", "pending"],
        "it waits however long the steps take"
    );

    let client = sim.client_token(&user).await;
    let (status, stub) = answer(&sim, &client, &job_id, json!(["Hooli"])).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{stub}");
    assert_eq!(
        stub,
        json!({ "type": "job", "id": job_id, "links": { "self": sim.url(&format!("/jobs/{job_id}")) } })
    );
    let (_, job) = sim.get(&token, &format!("/jobs/{job_id}")).await;
    assert_eq!(
        statuses(&job),
        ["success", "success", "in-progress", "pending"]
    );
    assert_eq!(
        job["steps"][1]["result"],
        json!({ "type": "link", "url": format!("/users/{user}/connections/{connection}") })
    );
    let job = sim.wait_job(&token, &job_id).await;
    assert_eq!(statuses(&job), ["success", "success", "success", "success"]);
    // As after any successful job, Basiq says the transactions were updated.
    let mut updates = 0;
    for _ in 0..100 {
        let (_, events) = sim.get(&token, "/events").await;
        updates = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["entity"] == "transactions" && e["userId"] == user.as_str())
            .count();
        if updates >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(updates, 2, "one per successful job");
}

#[tokio::test]
async fn each_mfa_user_gets_its_own_challenge_and_only_its_solution_is_accepted() {
    let sim = spawn_sim().await;
    for (login, password, method, input, wrong, right) in [
        (
            "jared",
            "django",
            "token",
            json!(["OTP Password"]),
            json!(["4321"]),
            json!(["1234"]),
        ),
        (
            "richard",
            "tabsnotspaces",
            "token",
            json!(["OTP Password"]),
            json!([]),
            json!([" 1234 "]),
        ),
        (
            "gavinBelson",
            "hooli2016",
            "security-questions",
            json!(["What's your first company?"]),
            json!(["hooli"]),
            json!(["Hooli"]),
        ),
        (
            "Whistler",
            "ShowBox",
            "security-questions",
            json!([
                "What's your favourite company?",
                "What's the ID of this institution?"
            ]),
            json!(["Basiq"]),
            json!(["Basiq", "AU00000"]),
        ),
        (
            "Wentworth-Smith",
            "whislter",
            "security-questions",
            json!([
                "What's your favourite company?",
                "What's the ID of this institution?"
            ]),
            json!(["AU00000", "Basiq"]),
            json!(["Basiq", "AU00000"]),
        ),
    ] {
        let (token, user, connection) = connected_at(&sim, "AU00002", login, password).await;
        let job_id = refresh(&sim, &token, &user, &connection).await;
        let job = until_challenged_or_ended(&sim, &token, &job_id).await;
        let result = &job["steps"][1]["result"];
        assert_eq!(
            (&result["method"], &result["input"]),
            (&json!(method), &input),
            "{login}"
        );
        if method == "token" {
            assert_eq!(
                result["description"],
                "A SMS code has been sent to your device, please enter valid number"
            );
        }
        let client = sim.client_token(&user).await;
        let (status, body) = answer(&sim, &client, &job_id, wrong).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{login}: {body}");
        assert_eq!(error_of(&body).0, "invalid-credentials");
        assert_eq!(body["data"][0]["detail"], "The MFA response is not valid.");
        assert_eq!(
            body["data"][0]["title"],
            "Cannot login to target institution using supplied credentials."
        );
        // A wrong answer leaves the challenge open.
        let (status, _) = answer(&sim, &client, &job_id, right).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{login}");
        let job = sim.wait_job(&token, &job_id).await;
        assert!(statuses(&job).iter().all(|s| *s == "success"), "{job}");
    }
}

#[tokio::test]
async fn the_mfa_route_takes_only_the_jobs_users_client_token_and_an_array_of_strings() {
    let sim = spawn_sim().await;
    let (token, user, connection) = connected_at(&sim, "AU00002", "jared", "django").await;
    let job_id = refresh(&sim, &token, &user, &connection).await;
    until_challenged_or_ended(&sim, &token, &job_id).await;
    let path = format!("/jobs/{job_id}/mfa");
    let body = json!({ "mfa-response": ["1234"] });

    let (status, denied) = sim.post(&token, &path, Some(body.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_of(&denied).0, "access-denied");
    assert!(
        denied["data"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("CLIENT_ACCESS")
    );
    let stranger = sim.create_user(&token).await;
    let stranger = sim.client_token(&stranger).await;
    let (status, missing) = sim.post(&stranger, &path, Some(body.clone())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_of(&missing).0, "resource-not-found");
    let client = sim.client_token(&user).await;
    let (status, _) = sim.post(&client, "/jobs/nope/mfa", Some(body)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = sim.post("nope", &path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let raw = |text: &'static str| {
        sim.http
            .post(sim.url(&path))
            .bearer_auth(&client)
            .header("content-type", "application/json")
            .body(text)
            .send()
    };
    for text in ["", "{not json", "[\"1234\"]"] {
        let r = raw(text).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{text:?}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(error_of(&body).0, "invalid-content", "{text:?}");
    }
    for bad in [
        json!({}),
        json!({ "mfa-response": "1234" }),
        json!({ "mfa-response": [1234] }),
    ] {
        let (status, body) = sim.post(&client, &path, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        let (code, source) = error_of(&body);
        assert_eq!(
            (code, source),
            (
                "parameter-not-supplied",
                &json!({ "parameter": "mfa-response" })
            ),
            "{bad}"
        );
    }
    // None of that answered it.
    let (status, _) = answer(&sim, &client, &job_id, json!(["1234"])).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, again) = answer(&sim, &client, &job_id, json!(["1234"])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&again).0, "parameter-not-valid");
    assert_eq!(
        again["data"][0]["detail"],
        "The job is not waiting for an MFA response."
    );

    let recorded: Vec<Value> = sim
        .http
        .get(sim.url("/__sim/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let answers: Vec<u64> = recorded
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == path.as_str())
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(
        answers,
        [403, 404, 401, 400, 400, 400, 400, 400, 400, 202, 400]
    );
}

#[tokio::test]
async fn an_unanswered_challenge_expires_and_its_job_fails_there_leaving_the_connection_active() {
    let sim = spawn_sim().await;
    let (token, user, connection) = connected_at(&sim, "AU00002", "Gilfoyle", "PiedPiper").await;
    let job_id = refresh(&sim, &token, &user, &connection).await;
    let expire = |job: &str| {
        sim.http
            .post(sim.url(&format!("/__sim/jobs/{job}/mfa/expire")))
            .send()
    };
    until_challenged_or_ended(&sim, &token, &job_id).await;
    assert_eq!(
        expire(&job_id).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let (_, job) = sim.get(&token, &format!("/jobs/{job_id}")).await;
    assert_eq!(statuses(&job), ["success", "failed", "pending", "pending"]);
    assert_eq!(
        job["steps"][1]["result"],
        json!({
            "code": "job-timed-out",
            "title": "MFA challenge expired",
            "detail": "The MFA challenge was not answered in time.",
        })
    );
    for later in &job["steps"].as_array().unwrap()[2..] {
        assert!(later["result"].is_null());
    }
    let client = sim.client_token(&user).await;
    let (status, body) = answer(&sim, &client, &job_id, json!(["Hooli"])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body).0, "parameter-not-valid");
    assert_eq!(
        expire(&job_id).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        expire("nope").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let (_, c) = sim
        .get(&token, &format!("/users/{user}/connections/{connection}"))
        .await;
    assert_eq!(c["status"], "active");
    // No data was retrieved: only the Consent UI's job said the transactions were updated.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, events) = sim.get(&token, "/events").await;
    let types: Vec<String> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}.{}",
                e["entity"].as_str().unwrap(),
                e["eventType"].as_str().unwrap()
            )
        })
        .collect();
    let count = |t: &str| types.iter().filter(|x| *x == t).count();
    assert_eq!(count("transactions.updated"), 1, "{types:?}");
    assert_eq!(count("connection.invalidated"), 0, "{types:?}");
    // The job has ended: the next refresh is a new job.
    let next = refresh(&sim, &token, &user, &connection).await;
    assert_ne!(next, job_id);
}

/// Which of `n` refreshes of a new jared connection at Nucleus Bank ask for MFA.
async fn nucleus_challenges(n: usize) -> Vec<bool> {
    let sim = spawn_sim().await;
    let (token, user, connection) = connected_at(&sim, "AU00003", "jared", "django").await;
    let client = sim.client_token(&user).await;
    let mut asked = Vec::new();
    for _ in 0..n {
        let job_id = refresh(&sim, &token, &user, &connection).await;
        let job = until_challenged_or_ended(&sim, &token, &job_id).await;
        let challenged = titles(&job).contains(&"mfa-challenge");
        if challenged {
            let (status, _) = answer(&sim, &client, &job_id, json!(["1234"])).await;
            assert_eq!(status, StatusCode::ACCEPTED);
        }
        sim.wait_job(&token, &job_id).await;
        asked.push(challenged);
    }
    asked
}

#[tokio::test]
async fn nucleus_challenges_some_refreshes_and_not_others_the_same_ones_for_the_same_inputs() {
    let first = nucleus_challenges(10).await;
    assert!(first.contains(&true) && first.contains(&false), "{first:?}");
    assert_eq!(nucleus_challenges(10).await, first);
}

#[tokio::test]
async fn logins_without_a_challenge_and_banks_without_mfa_never_stop_at_mfa() {
    let sim = spawn_sim().await;
    for (institution, login, password) in [
        ("AU00002", "laurieBream", "business2024"),
        ("AU00000", "gavinBelson", "hooli2016"),
        ("AU00001", "jared", "django"),
    ] {
        let (token, user, connection) = connected_at(&sim, institution, login, password).await;
        let job_id = refresh(&sim, &token, &user, &connection).await;
        let job = sim.wait_job(&token, &job_id).await;
        assert_eq!(titles(&job).len(), 3, "{institution} {login}: {job}");
        assert!(statuses(&job).iter().all(|s| *s == "success"));
    }
}

#[tokio::test]
async fn a_purged_connection_shows_its_data_again_only_once_the_challenge_is_answered() {
    let sim = spawn_sim().await;
    let (token, user, connection) = connected_at(&sim, "AU00002", "jared", "django").await;
    let purge = format!("/users/{user}/connections/{connection}/purge");
    assert_eq!(
        sim.post(&token, &purge, None).await.0,
        StatusCode::NO_CONTENT
    );
    let job_id = refresh(&sim, &token, &user, &connection).await;
    until_challenged_or_ended(&sim, &token, &job_id).await;
    tokio::time::sleep(STEP * 4).await;
    let (_, accounts) = sim.get(&token, &format!("/users/{user}/accounts")).await;
    assert!(accounts["data"].as_array().unwrap().is_empty());
    let client = sim.client_token(&user).await;
    answer(&sim, &client, &job_id, json!(["1234"])).await;
    sim.wait_job(&token, &job_id).await;
    let (_, accounts) = sim.get(&token, &format!("/users/{user}/accounts")).await;
    assert_eq!(accounts["data"].as_array().unwrap().len(), 4);
    let (_, txs) = sim
        .get(&token, &format!("/users/{user}/transactions?limit=1"))
        .await;
    assert_eq!(txs["count"], 1);
}

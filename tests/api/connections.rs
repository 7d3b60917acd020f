//! Connections over time: job outcomes, the watcher, refresh without duplicates or budget
//! overruns, deletion.

use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

async fn connection_of(app: &TestApp, sub: &str, job_id: &str) -> String {
    let job = app.wait_for_job(sub, job_id).await;
    job["connectionId"]
        .as_str()
        .expect("the job names its connection")
        .to_owned()
}

#[tokio::test]
async fn each_sandbox_failure_user_gets_its_outcome_and_user_action() {
    let app = spawn_app().await;
    for (sub, login, password, status, code, action) in [
        (
            "u1",
            "bighead",
            "password",
            "action_required",
            "invalid-credentials",
            "reenter_credentials",
        ),
        (
            "u2",
            "erlich",
            "aviato",
            "action_required",
            "account-not-accessible-requires-user-action",
            "visit_bank",
        ),
        (
            "u3",
            "jianYang",
            "nothotdog",
            "failed",
            "service-unavailable",
            "retry_later",
        ),
    ] {
        let jobs = app.start_connect_bank(sub, login, password).await;
        let job = app.wait_for_job(sub, &jobs[0]).await;
        assert_eq!(job["status"], status, "{login}: {job}");
        assert_eq!(job["error"]["code"], code, "{login}");
        assert_eq!(job["error"]["userAction"], action, "{login}");
        assert_eq!(
            job["error"]["retryAfterSeconds"].is_u64(),
            action == "retry_later",
            "{login}: {job}"
        );
        assert!(job["error"]["title"].is_string());
        if action != "retry_later" {
            // The connection tells the app the user must act.
            let conns = app.get("/v1/connections", sub).await;
            let c = &conns.body["data"][0];
            assert_eq!(c["needsAttention"], true, "{login}: {c}");
        }
    }
}

#[tokio::test]
async fn the_watcher_follows_a_job_nobody_polls_to_its_end() {
    let mut setup = crate::helpers::Setup::default();
    // Long enough steps that the job is still running when the browser comes back.
    setup.sim.job_step = std::time::Duration::from_millis(400);
    let app = crate::helpers::spawn_app_with(setup).await;
    let jobs = app
        .start_connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let job_id = jobs[0].clone();
    let at_callback: String = sqlx::query_scalar("select status from jobs where job_id = $1")
        .bind(&job_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_ne!(
        at_callback, "succeeded",
        "the job was still running at the callback"
    );
    app.eventually(
        "the watcher records the job as succeeded and stops",
        |pool| {
            let job_id = job_id.clone();
            async move {
                sqlx::query_as::<_, (String, bool)>(
                    "select status, next_check_at is null from jobs where job_id = $1",
                )
                .bind(job_id)
                .fetch_one(&pool)
                .await
                .is_ok_and(|(s, stopped)| s == "succeeded" && stopped)
            }
        },
    )
    .await;
    let row: (Option<String>, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("select connection_id, next_check_at from jobs where job_id = $1")
            .bind(&job_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(row.0.is_some(), "the connection was learnt");
    assert!(row.1.is_none(), "a finished job is no longer watched");
    let polled = app
        .sim_requests()
        .await
        .iter()
        .filter(|r| r["path"] == format!("/jobs/{job_id}").as_str())
        .count();
    assert!((1..20).contains(&polled), "bounded effort: {polled} checks");
}

#[tokio::test]
async fn refreshing_while_a_job_runs_returns_that_job() {
    let mut setup = crate::helpers::Setup::default();
    setup.sim.job_step = std::time::Duration::from_millis(400);
    let app = crate::helpers::spawn_app_with(setup).await;
    let jobs = app
        .start_connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let connection = connection_of(&app, "alice", &jobs[0]).await;
    let first = app
        .post(
            &format!("/v1/connections/{connection}/refresh"),
            "alice",
            Value::Null,
        )
        .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["connectionId"], connection.as_str());
    let second = app
        .post(
            &format!("/v1/connections/{connection}/refresh"),
            "alice",
            Value::Null,
        )
        .await;
    assert_eq!(second.status, 200);
    assert_eq!(second.body["id"], first.body["id"], "no duplicate job");
    let all = app
        .post("/v1/connections/refresh", "alice", Value::Null)
        .await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body["data"][0]["id"], first.body["id"]);
    let refresh_calls = app
        .sim_requests()
        .await
        .iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with("/refresh") && r["status"] == 202)
        .count();
    assert_eq!(refresh_calls, 1, "Basiq started one refresh job");
}

#[tokio::test]
async fn an_open_banking_connection_gets_twenty_refreshes_a_day_then_a_clear_429() {
    let app = spawn_app().await;
    let jobs = app
        .start_connect_bank_at("alice", "AU00001", "Wentworth-Smith", "whislter")
        .await;
    let connection = connection_of(&app, "alice", &jobs[0]).await;
    let path = format!("/v1/connections/{connection}/refresh");
    for i in 0..20 {
        let a = app.post(&path, "alice", Value::Null).await;
        assert_eq!(a.status, 200, "refresh {i}: {:?}", a.body);
        app.wait_for_job("alice", a.body["id"].as_str().unwrap())
            .await;
    }
    let refused = app.post(&path, "alice", Value::Null).await;
    assert_eq!(refused.status, 429, "{:?}", refused.body);
    assert_eq!(refused.body["code"], "refresh_limit_reached");
    let retry_after: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0 && retry_after <= 24 * 3600);
    refused.problem_field();
    let sent = app
        .sim_requests()
        .await
        .iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with("/refresh"))
        .count();
    assert_eq!(sent, 20, "the 21st never reached Basiq");
}

#[tokio::test]
async fn another_users_connection_cannot_be_refreshed_or_deleted() {
    let app = spawn_app().await;
    let jobs = app.connect_bank("bob", "gavinBelson", "hooli2016").await;
    let bobs = connection_of(&app, "bob", &jobs[0]).await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let a = app
        .post(
            &format!("/v1/connections/{bobs}/refresh"),
            "alice",
            Value::Null,
        )
        .await;
    assert_eq!(a.status, 404);
    let r = app
        .delete(&format!("/v1/connections/{bobs}"), "alice")
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        app.get("/v1/connections", "bob").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn deleting_a_connection_removes_it_at_basiq_and_locally() {
    let app = spawn_app().await;
    let jobs = app
        .connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let connection = connection_of(&app, "alice", &jobs[0]).await;
    let r = app
        .delete(&format!("/v1/connections/{connection}"), "alice")
        .await;
    assert_eq!(r.status, 204);
    assert!(
        app.get("/v1/connections", "alice").await.body["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let rows: i64 = sqlx::query_scalar("select count(*) from jobs where connection_id = $1")
        .bind(&connection)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn the_watcher_gives_up_on_a_job_past_basiqs_seven_day_window() {
    let mut setup = crate::helpers::Setup::default();
    setup.sim.job_step = std::time::Duration::from_secs(30);
    let app = crate::helpers::spawn_app_with(setup).await;
    let jobs = app
        .start_connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    // As if the job had been started more than 7 days ago and never finished.
    sqlx::query("update jobs set watch_until = now() - interval '1 second' where job_id = $1")
        .bind(&jobs[0])
        .execute(&app.pool)
        .await
        .unwrap();
    let job_id = jobs[0].clone();
    app.eventually("the watcher stops watching", |pool| {
        let job_id = job_id.clone();
        async move {
            sqlx::query_as::<_, (String, bool)>(
                "select status, next_check_at is null from jobs where job_id = $1",
            )
            .bind(job_id)
            .fetch_one(&pool)
            .await
            .is_ok_and(|(status, stopped)| stopped && status == "in_progress")
        }
    })
    .await;
}

//! Jobs: each sandbox login's outcome, steps moving on with time, and the user's job list.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

fn statuses(job: &Value) -> Vec<&str> {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect()
}

/// Login, password, the steps' statuses, and the failure's code and detail.
type Case = (
    &'static str,
    &'static str,
    [&'static str; 3],
    Option<(&'static str, &'static str)>,
);

#[tokio::test]
async fn each_sandbox_login_ends_at_its_documented_step() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let user = sim.create_user(&token).await;
    // reference/TOPICS/testing.md: every persona succeeds; each unhappy user fails at its step
    // with its documented code and detail.
    let success = ["success", "success", "success"];
    let mut cases: Vec<Case> = [
        ("Wentworth-Smith", "whislter"),
        ("Whistler", "ShowBox"),
        ("Gilfoyle", "PiedPiper"),
        ("gavinBelson", "hooli2016"),
        ("jared", "django"),
        ("richard", "tabsnotspaces"),
        ("laurieBream", "business2024"),
        ("ashMann", "hooli2024"),
    ]
    .into_iter()
    .map(|(login, password)| (login, password, success, None))
    .collect();
    cases.extend([
        (
            "bighead",
            "password",
            ["failed", "pending", "pending"],
            Some(("invalid-credentials", "Account is locked")),
        ),
        (
            "erlich",
            "aviato",
            ["success", "failed", "pending"],
            Some((
                "account-not-accessible-requires-user-action",
                "An action is required from end-user before account details can be returned.",
            )),
        ),
        (
            "jianYang",
            "nothotdog",
            ["failed", "pending", "pending"],
            Some((
                "service-unavailable",
                "Service is currently unavailable. Please try again later.",
            )),
        ),
        (
            "someone",
            "else",
            ["failed", "pending", "pending"],
            Some((
                "invalid-credentials",
                "Cannot login to target institution, check credentials and try again.",
            )),
        ),
    ]);
    for (login, password, expected, code) in cases {
        let job = sim.connect(&user, "AU00000", login, password).await;
        let job = sim.wait_job(&token, &job).await;
        assert_eq!(statuses(&job), expected, "{login}");
        let failed = job["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["status"] == "failed");
        match (failed, code) {
            (Some(step), Some((code, detail))) => {
                assert_eq!(step["result"]["code"], code, "{login}");
                assert_eq!(step["result"]["detail"], detail, "{login}");
                assert!(step["result"]["title"].is_string());
            }
            (None, None) => {
                let first = &job["steps"][0]["result"];
                assert_eq!(first["type"], "link");
                assert!(
                    first["url"]
                        .as_str()
                        .unwrap()
                        .starts_with(&format!("/users/{user}/connections/"))
                );
            }
            other => panic!("{login}: unexpected {other:?}"),
        }
        for later in job["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["status"] == "pending")
        {
            assert!(later["result"].is_null());
        }
    }
}

#[tokio::test]
async fn job_steps_progress_over_time_and_source_is_absent_during_the_first_step() {
    let sim = spawn_with(basiq_sim::SimConfig {
        job_step: Duration::from_millis(250),
        ..config()
    })
    .await;
    let token = sim.server_token().await;
    let user = sim.create_user(&token).await;
    let id = sim
        .connect(&user, "AU00000", "Wentworth-Smith", "whislter")
        .await;
    let (_, job) = sim.get(&token, &format!("/jobs/{id}")).await;
    assert_eq!(statuses(&job), ["in-progress", "pending", "pending"]);
    assert!(job["links"]["source"].is_null(), "{job}");
    assert!(
        job["links"]["self"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/jobs/{id}"))
    );

    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, job) = sim.get(&token, &format!("/jobs/{id}")).await;
    assert_eq!(statuses(&job), ["success", "in-progress", "pending"]);
    let source = job["links"]["source"].as_str().unwrap();
    assert!(
        source.starts_with("http://") && source.contains(&format!("/users/{user}/connections/"))
    );

    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, job) = sim.get(&token, &format!("/jobs/{id}")).await;
    assert_eq!(statuses(&job), ["success", "success", "success"]);
    assert!(job["updated"].as_str().unwrap() >= job["created"].as_str().unwrap());
}

#[tokio::test]
async fn a_users_jobs_include_running_ones_and_no_one_elses() {
    let sim = spawn_with(basiq_sim::SimConfig {
        job_step: Duration::from_secs(5),
        ..config()
    })
    .await;
    let token = sim.server_token().await;
    let (alice, bob) = (sim.create_user(&token).await, sim.create_user(&token).await);
    let running = sim
        .connect(&alice, "AU00000", "Wentworth-Smith", "whislter")
        .await;
    sim.connect(&bob, "AU00000", "gavinBelson", "hooli2016")
        .await;
    let (status, list) = sim.get(&token, &format!("/users/{alice}/jobs")).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [running.as_str()]);
    assert_eq!(list["data"][0]["steps"][0]["status"], "in-progress");
}

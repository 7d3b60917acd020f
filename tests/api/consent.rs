//! The consent round trip and everything that must not get through it.

use std::collections::HashMap;

use serde_json::json;

use crate::helpers::{RETURN_TO, spawn_app};

#[tokio::test]
async fn consent_creates_the_basiq_user_and_a_consent_url_bound_to_it() {
    let app = spawn_app().await;
    let url = app
        .consent_url(
            "alice",
            json!({"returnTo": RETURN_TO, "institutionId": "AU00000", "action": "connect"}),
        )
        .await;
    assert!(
        url.as_str()
            .starts_with(&format!("{}/consent/home?", app.sim.base_url()))
    );
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert!(q["token"].len() > 10);
    assert!(q["state"].starts_with("v1."));
    assert_eq!(q["institutionId"], "AU00000");
    assert_eq!(q["action"], "connect");

    let me = app.get("/v1/me", "alice").await;
    let basiq_user_id = me.body["basiqUserId"]
        .as_str()
        .expect("user created")
        .to_owned();
    // The client token the browser carries is a CLIENT_ACCESS token for this user only.
    let token_calls: Vec<_> = app
        .sim_requests()
        .await
        .into_iter()
        .filter(|r| r["path"] == "/token")
        .collect();
    assert!(!token_calls.is_empty());
    let consent_page = app.http.get(url.clone()).send().await.unwrap();
    assert_eq!(consent_page.status(), 200);
    let sim_user = app
        .http
        .get(format!("{}/users/{basiq_user_id}", app.sim.base_url()))
        .bearer_auth(&q["token"])
        .header("basiq-version", "3.0")
        .send()
        .await
        .unwrap();
    assert_eq!(sim_user.status(), 403, "a client token cannot call the API");
}

#[tokio::test]
async fn the_whole_journey_reaches_accounts_and_every_transaction_page() {
    let app = spawn_app().await;
    let job_ids = app
        .connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    assert_eq!(job_ids.len(), 1);
    let job = app.wait_for_job("alice", &job_ids[0]).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let connection_id = job["connectionId"].as_str().unwrap().to_owned();
    assert_eq!(job["steps"].as_array().unwrap().len(), 3);

    let jobs = app.get("/v1/jobs", "alice").await;
    assert_eq!(jobs.status, 200);
    assert!(
        jobs.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == job_ids[0].as_str())
    );

    let connections = app.get("/v1/connections", "alice").await;
    let list = connections.body["data"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{:?}", connections.body);
    assert_eq!(list[0]["id"], connection_id.as_str());
    assert_eq!(list[0]["status"], "active");
    assert_eq!(list[0]["needsAttention"], false);

    let accounts = app.get("/v1/accounts", "alice").await;
    assert_eq!(accounts.status, 200);
    let accounts = accounts.body["data"].as_array().unwrap().clone();
    assert!(accounts.len() >= 2);
    for a in &accounts {
        assert!(a["balance"].is_string(), "money is a decimal string: {a}");
        assert_eq!(a["connectionId"], connection_id.as_str());
        let one = app
            .get(
                &format!("/v1/accounts/{}", a["id"].as_str().unwrap()),
                "alice",
            )
            .await;
        assert_eq!(one.status, 200);
        assert_eq!(one.body["id"], a["id"]);
    }

    let mut seen = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => "/v1/transactions?limit=200".to_owned(),
            Some(c) => format!("/v1/transactions?cursor={c}"),
        };
        let page = app.get(&path, "alice").await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        for t in page.body["data"].as_array().unwrap() {
            assert!(t["amount"].is_string());
            assert!(
                seen.insert(t["id"].as_str().unwrap().to_owned()),
                "duplicate {t}"
            );
        }
        pages += 1;
        match page.body["nextCursor"].as_str() {
            Some(c) => {
                assert!(
                    !c.contains("://") && !c.contains('/'),
                    "the cursor is not a URL: {c}"
                );
                cursor = Some(c.to_owned());
            }
            None => break,
        }
    }
    assert!(pages >= 2, "enough transactions to page");
    // Every transaction the simulator holds for the user came through exactly once.
    let all = app.get("/v1/transactions?limit=500", "alice").await;
    let mut total = all.body["data"].as_array().unwrap().len();
    let mut next = all.body["nextCursor"].as_str().map(str::to_owned);
    while let Some(c) = next {
        let p = app
            .get(&format!("/v1/transactions?cursor={c}"), "alice")
            .await;
        total += p.body["data"].as_array().unwrap().len();
        next = p.body["nextCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), total);
}

#[tokio::test]
async fn a_return_url_outside_the_allow_list_is_refused() {
    let app = spawn_app().await;
    for bad in [
        "https://evil.example.com/",
        "https://app.example.com.evil.com/",
        "https://app.example.com@evil.com/",
        "javascript:alert(1)",
        "/relative",
    ] {
        let a = app
            .post("/v1/consent", "alice", json!({"returnTo": bad}))
            .await;
        assert_eq!(a.status, 400, "{bad}");
        assert_eq!(a.problem_field(), Some("returnTo"));
    }
    let a = app
        .post(
            "/v1/consent",
            "alice",
            json!({"returnTo": "myapp://connected"}),
        )
        .await;
    assert_eq!(a.status, 200, "an app scheme on the list is accepted");
}

#[tokio::test]
async fn every_bad_consent_field_is_named() {
    let app = spawn_app().await;
    let cases = [
        (json!({}), "returnTo"),
        (json!({"returnTo": 5}), "returnTo"),
        (json!({"returnTo": RETURN_TO, "action": "hack"}), "action"),
        (
            json!({"returnTo": RETURN_TO, "institutionId": "AU0'"}),
            "institutionId",
        ),
        (
            json!({"returnTo": RETURN_TO, "connectionId": "../x"}),
            "connectionId",
        ),
        (json!({"returnTo": RETURN_TO, "email": "nope"}), "email"),
        (
            json!({"returnTo": RETURN_TO, "mobile": "call me"}),
            "mobile",
        ),
        (json!({"returnTo": RETURN_TO, "surprise": 1}), "surprise"),
        // The callback appends these itself: a returnTo carrying one would get two.
        (
            json!({"returnTo": format!("{RETURN_TO}?jobIds=j1")}),
            "returnTo",
        ),
        (
            json!({"returnTo": format!("{RETURN_TO}?x=1&error=no")}),
            "returnTo",
        ),
    ];
    for (body, field) in cases {
        let a = app.post("/v1/consent", "alice", body.clone()).await;
        assert_eq!(a.status, 400, "{body}");
        assert_eq!(a.problem_field(), Some(field), "{body}: {:?}", a.body);
    }
    let r = app
        .http
        .post(format!("{}/v1/consent", app.base))
        .bearer_auth(crate::helpers::jwt_for("alice"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn a_user_without_email_or_mobile_is_asked_for_one() {
    let app = spawn_app().await;
    let token =
        crate::helpers::jwt_with(json!({"sub": "nomail", "exp": crate::helpers::now() + 600}));
    let r = app
        .http
        .post(format!("{}/v1/consent", app.base))
        .bearer_auth(token)
        .json(&json!({"returnTo": RETURN_TO}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["field"], "email");
    assert!(
        !app.sim_requests()
            .await
            .iter()
            .any(|r| r["path"] == "/users")
    );
}

async fn callback_status(app: &crate::helpers::TestApp, query: &str) -> (u16, Option<String>) {
    let r = app
        .http
        .get(format!("{}/v1/consent/callback?{query}", app.base))
        .send()
        .await
        .unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (r.status().as_u16(), location)
}

#[tokio::test]
async fn a_tampered_or_missing_state_gets_a_400_page_and_no_redirect() {
    let app = spawn_app().await;
    let url = app
        .consent_url("alice", json!({"returnTo": RETURN_TO}))
        .await;
    let callback = app
        .submit_consent_form(&url, "Wentworth-Smith", "whislter")
        .await;
    let callback = url::Url::parse(&callback).unwrap();
    let q: HashMap<String, String> = callback.query_pairs().into_owned().collect();
    let state = &q["state"];
    let jobs = &q["jobIds"];

    let mut parts: Vec<String> = state.split('.').map(str::to_owned).collect();
    let flip = |s: &str| {
        let mut c: Vec<char> = s.chars().collect();
        c[3] = if c[3] == 'A' { 'B' } else { 'A' };
        c.into_iter().collect::<String>()
    };
    let mut later_expiry = parts.clone();
    later_expiry[2] = (parts[2].parse::<i64>().unwrap() + 3600).to_string();
    parts[3] = flip(&parts[3]);
    let mut other_nonce: Vec<String> = state.split('.').map(str::to_owned).collect();
    other_nonce[1] = flip(&other_nonce[1]);
    for bad in [
        parts.join("."),
        later_expiry.join("."),
        other_nonce.join("."),
        "v1.x.y.z".to_owned(),
        "garbage".to_owned(),
    ] {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("state", &bad)
            .append_pair("jobIds", jobs)
            .finish();
        let (status, location) = callback_status(&app, &query).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(location, None);
    }
    let (status, location) = callback_status(&app, &format!("jobIds={jobs}")).await;
    assert_eq!((status, location), (400, None));

    // The genuine state still works once, then is spent.
    let (status, location) = callback_status(&app, callback.query().unwrap()).await;
    assert_eq!(status, 303);
    assert!(location.unwrap().starts_with(RETURN_TO));
    let (status, location) = callback_status(&app, callback.query().unwrap()).await;
    assert_eq!(
        (status, location),
        (400, None),
        "a replayed state is refused"
    );
}

#[tokio::test]
async fn jobs_of_another_user_are_not_accepted_at_the_callback() {
    let app = spawn_app().await;
    let bobs_jobs = app.connect_bank("bob", "gavinBelson", "hooli2016").await;

    let url = app
        .consent_url("alice", json!({"returnTo": RETURN_TO}))
        .await;
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("state", &state)
        .append_pair("jobIds", &bobs_jobs.join(","))
        .finish();
    let (status, location) = callback_status(&app, &query).await;
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert!(location.contains("error=invalid_job"), "{location}");
    assert!(!location.contains(&bobs_jobs[0]));
    // Nor can alice read bob's job directly.
    let a = app
        .get(&format!("/v1/jobs/{}", bobs_jobs[0]), "alice")
        .await;
    assert_eq!(a.status, 404);
    a.problem_field();
}

#[tokio::test]
async fn coming_back_without_a_connection_redirects_with_an_error() {
    let app = spawn_app().await;
    let url = app
        .consent_url("alice", json!({"returnTo": "myapp://done"}))
        .await;
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("state", &state)
        .finish();
    let (status, location) = callback_status(&app, &query).await;
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some("myapp://done?error=no_connection")
    );
}

#[tokio::test]
async fn a_failing_sandbox_login_tells_the_app_what_the_user_must_do() {
    let app = spawn_app().await;
    let job_ids = app.connect_bank("carol", "bighead", "password").await;
    let job = app.wait_for_job("carol", &job_ids[0]).await;
    assert_eq!(job["status"], "action_required", "{job}");
    assert_eq!(job["error"]["code"], "invalid-credentials");
    assert_eq!(job["error"]["userAction"], "reenter_credentials");
}

//! The one shared server token under expiry and token-endpoint failure.

use std::{sync::Arc, time::Duration};

use serde_json::json;

use crate::helpers::{Setup, calling_basiq_every_time, spawn_app, spawn_app_with};

fn token_calls(requests: &[serde_json::Value]) -> Vec<u64> {
    requests
        .iter()
        .filter(|r| r["path"] == "/token" && r["method"] == "POST")
        .map(|r| r["status"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn one_server_token_serves_many_requests() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    for _ in 0..10 {
        assert_eq!(app.get("/v1/accounts", "alice").await.status, 200);
    }
    let requests = app.sim_requests().await;
    // One SERVER_ACCESS token plus one CLIENT_ACCESS token for the consent.
    assert_eq!(token_calls(&requests).len(), 2, "{requests:?}");
}

#[tokio::test]
async fn a_token_expiring_mid_traffic_fails_no_request() {
    // Eight workers as fast as they go: the per-user rate limit is not what this is about.
    let app = Arc::new(
        spawn_app_with(Setup {
            env: vec![
                ("RATE_LIMIT_PER_MINUTE", "0".into()),
                ("ANSWER_CACHE_BYTES", "0".into()),
            ],
            ..Setup::default()
        })
        .await,
    );
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut set = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let (app, stop) = (app.clone(), stop.clone());
        set.spawn(async move {
            let mut done = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let path = if (worker + done) % 2 == 0 {
                    "/v1/accounts"
                } else {
                    "/v1/transactions?limit=10"
                };
                let a = app.get(path, "alice").await;
                assert_eq!(a.status, 200, "{path}: {:?}", a.body);
                done += 1;
            }
            done
        });
    }
    // The token expires three times while traffic flows (each expiry well apart, as tokens
    // expire in life: one refresh and one retry cover each).
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        app.sim_post("/__sim/tokens/expire", json!({})).await;
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut served = 0;
    while let Some(r) = set.join_next().await {
        served += r.unwrap();
    }
    let requests = app.sim_requests().await;
    let expired = requests.iter().filter(|r| r["status"] == 403).count();
    assert!(expired > 0, "the test did expire tokens under traffic");
    // Concurrent callers share each refresh: far fewer token calls than refused requests.
    let tokens = token_calls(&requests).len();
    assert!(
        tokens <= 2 + 3 * 2,
        "{tokens} token calls for {expired} expiries over {served} requests"
    );
}

#[tokio::test]
async fn while_the_token_endpoint_fails_requests_use_the_old_token_and_refresh_backs_off() {
    let mut setup = calling_basiq_every_time();
    setup.sim.token_ttl = Duration::from_secs(4);
    let app = spawn_app_with(setup).await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    app.sim_post("/__sim/faults", json!({"path": "/token", "status": 503}))
        .await;

    // The refresher fires at 40% of the 4 s lifetime, fails, and backs off; requests go on.
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        let a = app.get("/v1/accounts", "alice").await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let failures = token_calls(&app.sim_requests().await)
        .into_iter()
        .filter(|s| *s == 503)
        .count();
    assert!(failures >= 2, "the refresh kept retrying ({failures})");
    assert!(
        failures < 40,
        "with back-off, not in a tight loop ({failures})"
    );
    let ready = app.get_unauthenticated("/readyz").await;
    assert!(
        ready.body["basiqToken"]["consecutiveFailures"]
            .as_u64()
            .unwrap()
            >= 1
    );

    // Once the token truly expires with no way to refresh, requests fail clearly, not raw.
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let a = app.get("/v1/accounts", "alice").await;
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert_eq!(a.body["code"], "upstream_token_unavailable");
    assert_eq!(app.get_unauthenticated("/readyz").await.status, 503);

    // The endpoint recovers: the refresher gets a token and traffic resumes.
    app.sim_delete("/__sim/faults").await;
    let mut recovered = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if app.get_unauthenticated("/readyz").await.status == 200 {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "ready again after the token endpoint recovers");
    assert_eq!(app.get("/v1/accounts", "alice").await.status, 200);
}

#[tokio::test]
async fn two_replicas_on_one_database_fetch_one_token_between_them() {
    let app = spawn_app().await;
    let replica = app.spawn_replica().await;
    for _ in 0..5 {
        assert_eq!(app.get("/v1/institutions", "alice").await.status, 200);
        let r = app
            .http
            .get(format!("{}/v1/institutions?q=hooli", replica.base))
            .bearer_auth(crate::helpers::jwt_for("bob"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // Both replicas are ready on the same token.
    for base in [&app.base, &replica.base] {
        let mut ready = false;
        for _ in 0..50 {
            let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
            if r.status() == 200 {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(ready, "{base} never ready");
    }
    let requests = app.sim_requests().await;
    assert_eq!(token_calls(&requests).len(), 1, "{requests:?}");
    let connectors = requests
        .iter()
        .filter(|r| r["path"] == "/connectors")
        .count();
    assert_eq!(
        connectors, 2,
        "each replica fetched institutions with the one token: {requests:?}"
    );

    // When Basiq expires it, one replica refreshes and the other adopts the new token.
    app.sim_post("/__sim/tokens/expire", json!({})).await;
    let body = json!({"returnTo": crate::helpers::RETURN_TO});
    assert_eq!(
        app.post("/v1/consent", "alice", body.clone()).await.status,
        200
    );
    let r = app
        .http
        .post(format!("{}/v1/consent", replica.base))
        .bearer_auth(crate::helpers::jwt_for("bob"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let requests = app.sim_requests().await;
    let refused = requests.iter().filter(|r| r["status"] == 403).count();
    assert_eq!(refused, 2, "each replica met the expired token once");
    // The first token, one refresh, and the two users' consent (client) tokens.
    assert_eq!(token_calls(&requests).len(), 4, "{requests:?}");
}

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_answers_while_the_process_runs() {
    let app = spawn_app().await;
    let a = app.get_unauthenticated("/healthz").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["status"], "ok");
}

#[tokio::test]
async fn readyz_turns_ready_once_a_server_token_is_held() {
    let app = spawn_app().await;
    let mut last = None;
    for _ in 0..100 {
        let a = app.get_unauthenticated("/readyz").await;
        if a.status == 200 {
            assert_eq!(a.body["database"], true);
            assert_eq!(a.body["basiqToken"]["valid"], true);
            return;
        }
        last = Some(a.body);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("never ready: {last:?}");
}

#[tokio::test]
async fn an_unknown_route_is_a_problem_json_404() {
    let app = spawn_app().await;
    let a = app.get("/v1/nope", "u1").await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body["code"], "route_not_found");
    a.problem_field();
    assert_eq!(
        a.headers["x-request-id"].to_str().unwrap(),
        a.body["requestId"].as_str().unwrap()
    );
}

#[tokio::test]
async fn while_the_database_is_unreachable_requests_answer_503_quickly_and_recover_after() {
    use std::time::{Duration, Instant};

    use crate::helpers::{Setup, spawn_app_with};

    let app = spawn_app_with(Setup {
        database_proxy: true,
        ..Setup::default()
    })
    .await;
    let proxy = app.db_proxy.as_ref().unwrap();
    assert_eq!(app.get("/v1/me", "known").await.status, 200);
    proxy.cut();

    // A user the replica has not seen yet needs the database.
    let started = Instant::now();
    let a = app.get("/v1/me", "stranger").await;
    let took = started.elapsed();
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert_eq!(a.body["code"], "database_unavailable");
    assert!(a.headers.contains_key("retry-after"));
    a.problem_field();
    assert!(took < Duration::from_millis(2500), "answered in {took:?}");

    let started = Instant::now();
    let a = app.get_unauthenticated("/readyz").await;
    let took = started.elapsed();
    assert_eq!(a.status, 503, "{:?}", a.body);
    assert_eq!(a.body["database"], false);
    assert!(
        took < Duration::from_millis(1200),
        "readyz answered in {took:?}"
    );

    proxy.restore();
    for _ in 0..100 {
        if app.get("/v1/me", "stranger").await.status == 200
            && app.get_unauthenticated("/readyz").await.status == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never recovered once the database was back");
}

#[tokio::test]
async fn every_background_task_shows_running_in_readyz_and_metrics() {
    let app = spawn_app().await;
    let a = app.get_unauthenticated("/readyz").await;
    let tasks = a.body["backgroundTasks"].as_array().unwrap().clone();
    let names: Vec<&str> = tasks.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "event_listener",
            "event_pruner",
            "event_recovery",
            "housekeeping",
            "institutions",
            "job_watcher",
            "server_token",
            "sync_refresher",
            "webhook_inbox"
        ]
    );
    assert!(tasks.iter().all(|t| t["running"] == true), "{tasks:?}");
    let metrics = reqwest::get(format!("{}/metrics", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("background_task_running{task=\"job_watcher\"} 1"),
        "{metrics}"
    );
}

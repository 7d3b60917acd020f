use std::sync::Arc;

use serde_json::json;

use crate::helpers::{RETURN_TO, spawn_app};

#[tokio::test]
async fn concurrent_first_requests_create_exactly_one_basiq_user() {
    let app = Arc::new(spawn_app().await);
    let mut set = tokio::task::JoinSet::new();
    // Under the per-user cap on consent links (10 in a burst).
    for _ in 0..8 {
        let app = app.clone();
        set.spawn(async move {
            app.post("/v1/consent", "racer", json!({"returnTo": RETURN_TO}))
                .await
        });
    }
    while let Some(a) = set.join_next().await {
        let a = a.unwrap();
        assert_eq!(a.status, 200, "{:?}", a.body);
    }
    let creations = app
        .sim_requests()
        .await
        .into_iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/users")
        .count();
    assert_eq!(creations, 1);
    let me = app.get("/v1/me", "racer").await;
    assert!(me.body["basiqUserId"].is_string());
}

#[tokio::test]
async fn me_reports_connections_and_the_latest_consent() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let me = app.get("/v1/me", "alice").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["userId"], "alice");
    assert_eq!(me.body["connectionCount"], 1);
    assert_eq!(me.body["consent"]["status"], "active");
}

#[tokio::test]
async fn erasure_deletes_the_basiq_user_and_every_local_row_and_can_be_repeated() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let basiq_user_id = app.basiq_user_id("alice").await;
    let erase = || async { app.delete("/v1/me", "alice").await.status };
    assert_eq!(erase().await, 204);
    let deleted_at_basiq = app.sim_requests().await.iter().any(|r| {
        r["method"] == "DELETE"
            && r["path"] == format!("/users/{basiq_user_id}").as_str()
            && r["status"] == 204
    });
    assert!(deleted_at_basiq);
    for table in [
        "app_users",
        "jobs",
        "consent_states",
        "refreshes",
        "connections",
    ] {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select count(*) from {table} where app_user_id = 'alice'"
        )))
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    assert_eq!(erase().await, 204, "safe to repeat");
    assert_eq!(
        app.get("/v1/me", "alice").await.body["basiqUserId"],
        serde_json::Value::Null
    );
}

#[tokio::test]
async fn a_consent_state_for_a_user_erased_meanwhile_is_told_apart_from_other_failures() {
    use basiq_bff::db::consent_states::{Inserted, insert};
    let app = crate::helpers::spawn_app().await;
    let later = chrono::Utc::now() + chrono::Duration::minutes(5);
    // No such app user: the foreign key, by its name, says the user is gone.
    let stored = insert(
        &app.pool,
        &[1u8; 32],
        "erased-meanwhile",
        "https://x/",
        later,
    )
    .await
    .unwrap();
    assert_eq!(stored, Inserted::UserErased);
    basiq_bff::db::users::ensure_row(&app.pool, "present")
        .await
        .unwrap();
    let stored = insert(&app.pool, &[2u8; 32], "present", "https://x/", later)
        .await
        .unwrap();
    assert_eq!(stored, Inserted::Yes);
    // Any other failure stays an error: the same nonce twice.
    assert!(
        insert(&app.pool, &[2u8; 32], "present", "https://x/", later)
            .await
            .is_err()
    );
}

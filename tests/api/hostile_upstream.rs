//! What a hostile (or broken) Basiq answer may not get through: ids that are not ids into
//! the paths we build, and next-page links that would page a client forever.

use serde_json::json;

use crate::helpers::{calling_basiq_every_time, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_connection_id_from_basiq_that_is_not_an_id_never_reaches_a_path() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let user = app.basiq_user_id("alice").await;
    let evil = "..%2F..%2Fusers%2Fsomeone-else";
    app.sim_post(
        "/__sim/faults",
        json!({
            "path": format!("/users/{user}/connections"),
            "method": "GET",
            "status": 200,
            "body": json!({
                "type": "list",
                "data": [{"type": "connection", "id": "../../users/someone-else", "status": "active",
                          "method": "openbanking", "institution": {"id": "AU00000"}}],
            }).to_string(),
        }),
    )
    .await;
    let a = app
        .post("/v1/connections/refresh", "alice", json!({}))
        .await;
    assert_eq!(a.status, 502, "{:?}", a.body);
    assert_eq!(a.body["code"], "upstream_malformed");
    let requests = app.sim_requests().await;
    assert!(
        !requests.iter().any(|r| {
            let path = r["path"].as_str().unwrap();
            path.contains("someone-else") || path.contains(evil) || path.ends_with("/refresh")
        }),
        "{requests:#?}"
    );
}

#[tokio::test]
async fn a_next_page_that_points_back_at_the_page_ends_the_paging() {
    let app = spawn_app_with(calling_basiq_every_time()).await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let user = app.basiq_user_id("alice").await;
    let sim = app.sim.base_url();
    app.sim_post(
        "/__sim/faults",
        json!({
            "path": format!("/users/{user}/transactions"),
            "status": 200,
            "body": json!({
                "type": "list", "count": 0, "size": 0, "data": [],
                "links": {
                    "self": format!("{sim}/users/{user}/transactions?limit=100"),
                    "next": format!("{sim}/users/{user}/transactions?limit=100"),
                },
            }).to_string(),
        }),
    )
    .await;
    let a = app.get("/v1/transactions", "alice").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["nextCursor"], serde_json::Value::Null);

    // A next link too long to carry in a cursor is not a next page we follow.
    app.sim_delete("/__sim/faults").await;
    app.sim_post(
        "/__sim/faults",
        json!({
            "path": format!("/users/{user}/transactions"),
            "status": 200,
            "body": json!({
                "type": "list", "data": [],
                "links": {"next": format!("{sim}/users/{user}/transactions?next={}", "x".repeat(5000))},
            }).to_string(),
        }),
    )
    .await;
    let a = app.get("/v1/transactions", "alice").await;
    assert_eq!(a.status, 502, "{:?}", a.body);
    assert_eq!(a.body["code"], "upstream_malformed");
}

#[tokio::test]
async fn a_transactions_page_that_is_not_json_is_truncated_or_mistyped_answers_502() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let user = app.basiq_user_id("alice").await;
    let good =
        r#"{"type":"list","data":[{"type":"transaction","id":"t1","amount":"-1.00"}],"links":{}}"#;
    for body in [
        "<html>oops</html>".to_owned(),
        good[..good.len() - 10].to_owned(),
        good.replace(r#""-1.00""#, r#"{"value":-1}"#),
        good.replace(r#""id":"t1","#, ""),
        r#"{"type":"list","data":{"not":"a list"}}"#.to_owned(),
    ] {
        app.sim_delete("/__sim/faults").await;
        app.sim_post(
            "/__sim/faults",
            json!({"path": format!("/users/{user}/transactions"), "status": 200, "body": body}),
        )
        .await;
        let a = app.get("/v1/transactions", "alice").await;
        assert_eq!(a.status, 502, "{body}: {:?}", a.body);
        assert_eq!(a.body["code"], "upstream_malformed", "{body}");
        let text = a.body.to_string();
        assert!(
            !text.contains("line") && !text.contains("expected"),
            "nothing of serde's: {text}"
        );
    }
    // And the good one passes.
    app.sim_delete("/__sim/faults").await;
    app.sim_post(
        "/__sim/faults",
        json!({"path": format!("/users/{user}/transactions"), "status": 200, "body": good}),
    )
    .await;
    let a = app.get("/v1/transactions", "alice").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["data"][0]["amount"], "-1.00");
}

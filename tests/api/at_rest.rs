//! What the database holds: personal data sealed, no token in plain text.

use serde_json::json;

use crate::helpers::{RETURN_TO, TestApp, spawn_app};

/// Every row of every table of ours, as text: what a database dump would show.
pub async fn dump(app: &TestApp) -> String {
    let tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.tables where table_schema = 'public'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(tables.contains(&"app_users".to_owned()));
    let mut out = String::new();
    for table in tables {
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "select t::text from {table} t"
        )))
        .fetch_all(&app.pool)
        .await
        .unwrap();
        out.push_str(&rows.join("\\n"));
    }
    out
}

#[tokio::test]
async fn a_database_dump_holds_no_plaintext_email_mobile_or_token() {
    let app = spawn_app().await;
    let a = app
        .post(
            "/v1/consent",
            "alice",
            json!({"returnTo": RETURN_TO, "email": "alice.private@mailbox.test", "mobile": "+61400111222"}),
        )
        .await;
    assert_eq!(a.status, 200);
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let dump = dump(&app).await;
    for secret in ["alice.private", "mailbox.test", "61400111222"] {
        assert!(!dump.contains(secret), "{secret} is stored in plain text");
    }
    // The data is there, sealed.
    let (email, mobile): (Option<Vec<u8>>, Option<Vec<u8>>) = sqlx::query_as(
        "select email_sealed, mobile_sealed from app_users where app_user_id = 'alice'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(email.is_some_and(|e| e.len() > 28));
    assert!(mobile.is_some());
    // The shared server token is stored, sealed: the token the simulator issued is not in it.
    let token: Vec<u8> = sqlx::query_scalar("select token_sealed from server_token")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!token.is_empty());
    let consent_url = app
        .consent_url("alice", json!({"returnTo": RETURN_TO}))
        .await;
    let client_token = consent_url
        .query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned();
    assert!(!dump.contains(&client_token));
}

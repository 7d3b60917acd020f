//! An opt-in contract run against the real Basiq sandbox. It cannot run in CI (no network), so
//! it is `#[ignore]`d and shows as ignored; run it with
//! `BASIQ_LIVE_API_KEY=… cargo test --test api live_ -- --ignored`.
//! It drives everything that needs no browser: token, user creation, the client token and
//! consent URL, jobs, connections, accounts, transactions, institutions, and erasure at Basiq.

use std::time::Duration;

use basiq_bff::basiq::{BasiqClient, TokenPolicy, UpstreamPolicy};
use secrecy::SecretString;

#[tokio::test]
#[ignore = "contract run against the real Basiq sandbox; needs BASIQ_LIVE_API_KEY and network"]
async fn live_the_basiq_sandbox_speaks_the_shapes_we_parse() {
    let key = std::env::var("BASIQ_LIVE_API_KEY")
        .expect("BASIQ_LIVE_API_KEY must be set for the live contract run");
    let base =
        std::env::var("BASIQ_LIVE_API_URL").unwrap_or_else(|_| "https://au-api.basiq.io".into());
    let basiq = BasiqClient::new(
        &base.parse().unwrap(),
        SecretString::from(key),
        TokenPolicy::default(),
        UpstreamPolicy::default(),
        None,
    )
    .unwrap();
    let email = format!(
        "basiq-bff-contract+{}@example.com",
        uuid::Uuid::new_v4().simple()
    );
    let user = basiq
        .create_user(Some(&email), None)
        .await
        .expect("create user");
    let client = basiq.client_token(&user.id).await.expect("client token");
    assert!(client.expires_in > Duration::ZERO);
    basiq.user_jobs(&user.id).await.expect("jobs");
    basiq.connections(&user.id).await.expect("connections");
    basiq.accounts(&user.id).await.expect("accounts read");
    basiq
        .transactions(&user.id, "limit=10")
        .await
        .expect("transactions read");
    basiq.consents(&user.id).await.expect("consents");
    assert!(!basiq.connectors().await.expect("connectors").is_empty());
    basiq.delete_user(&user.id).await.expect("delete user");
}

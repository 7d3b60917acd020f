//! Every way a bearer token can be wrong, in each verification mode.

use std::sync::{Arc, Mutex};

use axum::{Json, Router, routing::get};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{JWT_SECRET, Setup, jwt_for, jwt_with, now, spawn_app, spawn_app_with};

const K1: &str = include_str!("../fixtures/jwt/k1.key.pem");
const K2: &str = include_str!("../fixtures/jwt/k2.key.pem");
const K1_PUB: &str = include_str!("../fixtures/jwt/k1.pub.pem");
const EC: &str = include_str!("../fixtures/jwt/ec.key.pem");
const EC_PUB: &str = include_str!("../fixtures/jwt/ec.pub.pem");

fn rs256(kid: Option<&str>, key: &str, claims: Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(key.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn claims(sub: &str) -> Value {
    json!({"sub": sub, "exp": now() + 600})
}

async fn assert_unauthorized(app: &crate::helpers::TestApp, token: &str) {
    let a = app.get_with_token("/v1/me", token).await;
    assert_eq!(a.status, 401, "{token}: {:?}", a.body);
    assert_eq!(a.body["code"], "unauthorized");
    a.problem_field();
}

#[tokio::test]
async fn a_valid_hs256_token_identifies_the_user() {
    let app = spawn_app().await;
    let a = app.get("/v1/me", "alice").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.body["userId"], "alice");
    assert_eq!(a.body["basiqUserId"], Value::Null);
}

#[tokio::test]
async fn requests_without_a_valid_bearer_token_are_refused() {
    let app = spawn_app().await;
    let a = app.get_unauthenticated("/v1/me").await;
    assert_eq!(a.status, 401);
    a.problem_field();
    let r = app
        .http
        .get(format!("{}/v1/me", app.base))
        .header("authorization", format!("Basic {}", jwt_for("alice")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let wrong_secret = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims("alice"),
        &EncodingKey::from_secret(b"another-secret-another-secret-another"),
    )
    .unwrap();
    let expired = jwt_with(json!({"sub": "alice", "exp": now() - 3600}));
    let no_exp = jwt_with(json!({"sub": "alice"}));
    let no_sub = jwt_with(json!({"exp": now() + 600}));
    let empty_sub = jwt_with(json!({"sub": "", "exp": now() + 600}));
    let other_alg = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims("alice"),
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let rs = rs256(None, K1, claims("alice"));
    let mut tampered = jwt_for("alice");
    tampered.insert(tampered.len() - 3, 'A');
    // alg "none": header {"alg":"none"} with the same claims and no signature.
    let none = {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B};
        format!(
            "{}.{}.",
            B.encode(br#"{"alg":"none","typ":"JWT"}"#),
            B.encode(claims("alice").to_string())
        )
    };
    for token in [
        "garbage",
        &wrong_secret,
        &expired,
        &no_exp,
        &no_sub,
        &empty_sub,
        &other_alg,
        &rs,
        &tampered,
        &none,
    ] {
        assert_unauthorized(&app, token).await;
    }
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused_within_the_same_leeway_as_expiry() {
    let app = spawn_app().await;
    let later = jwt_with(json!({"sub": "alice", "exp": now() + 7200, "nbf": now() + 3600}));
    let a = app.get_with_token("/v1/me", &later).await;
    assert_eq!(a.status, 401, "{:?}", a.body);
    assert_eq!(a.body["detail"], "the JWT is not valid yet");
    // Clocks a little apart: 10 s ahead is inside the 30 s leeway.
    let nearly = jwt_with(json!({"sub": "alice", "exp": now() + 600, "nbf": now() + 10}));
    assert_eq!(app.get_with_token("/v1/me", &nearly).await.status, 200);
}

#[tokio::test]
async fn a_token_naming_critical_extensions_is_refused() {
    let app = spawn_app().await;
    let mut header = Header::new(Algorithm::HS256);
    header.crit = Some(vec!["exp-ext".into()]);
    header.extras.insert("exp-ext", json!(true));
    let token = jsonwebtoken::encode(
        &header,
        &claims("alice"),
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let a = app.get_with_token("/v1/me", &token).await;
    assert_eq!(a.status, 401, "{:?}", a.body);
    assert_eq!(
        a.body["detail"],
        "the JWT names critical header extensions this API does not understand"
    );
}

#[tokio::test]
async fn two_authorization_headers_are_refused_even_if_both_are_valid() {
    let app = spawn_app().await;
    let token = format!("Bearer {}", jwt_for("alice"));
    let mut headers = reqwest::header::HeaderMap::new();
    headers.append("authorization", token.parse().unwrap());
    headers.append("authorization", token.parse().unwrap());
    let r = app
        .http
        .get(format!("{}/v1/me", app.base))
        .headers(headers)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
    assert_eq!(body["detail"], "more than one Authorization header");
}

#[tokio::test]
async fn issuer_and_audience_are_checked_when_configured() {
    let app = spawn_app_with(Setup {
        env: vec![
            ("APP_JWT_ISSUER", "https://idp.example.com/".into()),
            ("APP_JWT_AUDIENCE", "basiq-bff".into()),
        ],
        ..Setup::default()
    })
    .await;
    let good = jwt_with(
        json!({"sub": "a", "exp": now() + 600, "iss": "https://idp.example.com/", "aud": "basiq-bff"}),
    );
    assert_eq!(app.get_with_token("/v1/me", &good).await.status, 200);
    for bad in [
        json!({"sub": "a", "exp": now() + 600, "iss": "https://evil.example.com/", "aud": "basiq-bff"}),
        json!({"sub": "a", "exp": now() + 600, "iss": "https://idp.example.com/", "aud": "other"}),
        json!({"sub": "a", "exp": now() + 600, "aud": "basiq-bff"}),
        json!({"sub": "a", "exp": now() + 600, "iss": "https://idp.example.com/"}),
    ] {
        assert_unauthorized(&app, &jwt_with(bad)).await;
    }
}

#[tokio::test]
async fn a_pem_public_key_verifies_rs256_and_es256_tokens() {
    let app = spawn_app_with(Setup {
        env: vec![
            ("APP_JWT_SECRET", String::new()),
            ("APP_JWT_PUBLIC_KEY", K1_PUB.into()),
        ],
        ..Setup::default()
    })
    .await;
    assert_eq!(
        app.get_with_token("/v1/me", &rs256(None, K1, claims("a")))
            .await
            .status,
        200
    );
    assert_unauthorized(&app, &rs256(None, K2, claims("a"))).await;
    assert_unauthorized(&app, &jwt_for("a")).await;

    let app = spawn_app_with(Setup {
        env: vec![
            ("APP_JWT_SECRET", String::new()),
            ("APP_JWT_PUBLIC_KEY", EC_PUB.replace('\n', "\\n")),
        ],
        ..Setup::default()
    })
    .await;
    let es = jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        &claims("a"),
        &EncodingKey::from_ec_pem(EC.as_bytes()).unwrap(),
    )
    .unwrap();
    assert_eq!(app.get_with_token("/v1/me", &es).await.status, 200);
    assert_unauthorized(&app, &rs256(None, K1, claims("a"))).await;
}

#[tokio::test]
async fn a_jwks_is_fetched_cached_and_refetched_for_an_unknown_kid() {
    let jwks: Arc<Mutex<&'static str>> =
        Arc::new(Mutex::new(include_str!("../fixtures/jwt/jwks-k1.json")));
    let fetches = Arc::new(Mutex::new(0u32));
    let (j, f) = (jwks.clone(), fetches.clone());
    let idp = Router::new().route(
        "/jwks",
        get(move || {
            let (j, f) = (j.clone(), f.clone());
            async move {
                *f.lock().unwrap() += 1;
                let body: Value = serde_json::from_str(*j.lock().unwrap()).unwrap();
                Json(body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let idp_url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, idp).await });

    let app = spawn_app_with(Setup {
        env: vec![
            ("APP_JWT_SECRET", String::new()),
            ("APP_JWT_JWKS_URL", idp_url),
        ],
        ..Setup::default()
    })
    .await;
    for _ in 0..3 {
        let a = app
            .get_with_token("/v1/me", &rs256(Some("k1"), K1, claims("a")))
            .await;
        assert_eq!(a.status, 200, "{:?}", a.body);
    }
    assert_eq!(*fetches.lock().unwrap(), 1, "the JWKS is cached");

    // A token signed by a key the IdP has not published yet is refused.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_unauthorized(&app, &rs256(Some("k2"), K2, claims("a"))).await;
    // A kid that is named but signed with the wrong key is refused as well.
    assert_unauthorized(&app, &rs256(Some("k1"), K2, claims("a"))).await;
    // A token without a kid cannot be matched to a key.
    assert_unauthorized(&app, &rs256(None, K1, claims("a"))).await;

    // The IdP rotates in k2: the first token with that kid triggers a refetch.
    *jwks.lock().unwrap() = include_str!("../fixtures/jwt/jwks-k1-k2.json");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let a = app
        .get_with_token("/v1/me", &rs256(Some("k2"), K2, claims("a")))
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let before = *fetches.lock().unwrap();
    // Made-up kids in quick succession do not each cause a fetch.
    for i in 0..5 {
        assert_unauthorized(&app, &rs256(Some(&format!("nope{i}")), K1, claims("a"))).await;
    }
    assert!(*fetches.lock().unwrap() <= before + 1);
}

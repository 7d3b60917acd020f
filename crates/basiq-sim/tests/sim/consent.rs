//! The Consent UI: the page, its form, and the redirect back.

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn the_consent_page_shows_the_institutions_and_the_login_form() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let user = sim.create_user(&token).await;
    let client = sim.client_token(&user).await;
    let r = sim
        .http
        .get(sim.url(&format!(
            "/consent/home?token={client}&state=%3Cscript%3E&action=connect"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = r.text().await.unwrap();
    for needle in [
        "action=\"/consent/connect\"",
        "method=\"post\"",
        "id=\"institutionId\" name=\"institutionId\"",
        "<option value=\"AU00000\">",
        "<option value=\"AU00001\">",
        "id=\"loginId\" name=\"loginId\"",
        "id=\"password\" name=\"password\"",
        "name=\"token\"",
        "name=\"action\" value=\"connect\"",
        "id=\"connect\"",
        "value=\"&lt;script&gt;\"",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    assert!(!html.contains("<script>"));

    let r = sim
        .http
        .get(sim.url(&format!(
            "/consent/home?token={client}&institutionId=AU00001"
        )))
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(
        html.contains(
            "type=\"hidden\" id=\"institutionId\" name=\"institutionId\" value=\"AU00001\""
        )
    );
    assert!(!html.contains("<select"));
}

#[tokio::test]
async fn the_consent_page_refuses_missing_server_and_expired_tokens() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let user = sim.create_user(&token).await;
    let client = sim.client_token(&user).await;
    let status = |path: String| {
        let sim = &sim;
        async move { sim.http.get(sim.url(&path)).send().await.unwrap().status() }
    };
    assert_eq!(
        status("/consent/home".into()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status("/consent/home?token=nope".into()).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(format!("/consent/home?token={token}")).await,
        StatusCode::FORBIDDEN
    );
    sim.http
        .post(sim.url("/__sim/tokens/expire"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        status(format!("/consent/home?token={client}")).await,
        StatusCode::FORBIDDEN
    );
    let r = sim
        .consent_connect(&[
            ("token", client.as_str()),
            ("institutionId", "AU00000"),
            ("loginId", "a"),
            ("password", "b"),
        ])
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn connecting_redirects_303_with_job_ids_and_state_after_the_existing_query() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let user = sim.create_user(&token).await;
    let client = sim.client_token(&user).await;
    let state = "a b&c=d/é";
    let r = sim
        .consent_connect(&[
            ("token", client.as_str()),
            ("state", state),
            ("institutionId", "AU00000"),
            ("loginId", "Wentworth-Smith"),
            ("password", "whislter"),
        ])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(
        location.as_str().split('?').next(),
        Some("http://app.test/cb")
    );
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    assert_eq!(pairs[0], ("from".into(), "sim".into()));
    assert_eq!(pairs[2], ("state".into(), state.into()));
    let job = &pairs[1].1;
    assert_eq!(pairs[1].0, "jobIds");
    let (status, _) = sim.get(&token, &format!("/jobs/{job}")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, consents) = sim.get(&token, &format!("/users/{user}/consents")).await;
    assert_eq!(consents["data"][0]["status"], "active");
}

#[tokio::test]
async fn connecting_with_an_unknown_institution_or_no_password_is_a_400_page() {
    let sim = spawn_sim().await;
    let token = sim.server_token().await;
    let user = sim.create_user(&token).await;
    let client = sim.client_token(&user).await;
    for fields in [
        vec![
            ("institutionId", "AU99999"),
            ("loginId", "x"),
            ("password", "y"),
        ],
        vec![("institutionId", "AU00000"), ("loginId", "x")],
    ] {
        let mut form = vec![("token", client.as_str())];
        form.extend(fields);
        let r = sim.consent_connect(&form).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
}

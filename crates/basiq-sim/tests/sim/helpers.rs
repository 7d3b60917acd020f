//! Shared test scaffolding: a simulator on port 0, a reqwest client, and the common flows.

use std::time::Duration;

use basiq_sim::{self as sim, SimConfig, SimServer};
use reqwest::{Response, StatusCode, redirect};
use serde_json::{Value, json};

pub const KEY: &str = "test-api-key";
/// Short enough to keep the suite fast, long enough to observe each step.
pub const STEP: Duration = Duration::from_millis(30);

pub struct TestSim {
    pub server: SimServer,
    pub base: String,
    pub http: reqwest::Client,
}

pub fn config() -> SimConfig {
    SimConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        api_key: KEY.to_owned(),
        job_step: STEP,
        redirect_url: "http://app.test/cb?from=sim".to_owned(),
        ..SimConfig::default()
    }
}

pub async fn spawn_sim() -> TestSim {
    spawn_with(config()).await
}

pub async fn spawn_with(config: SimConfig) -> TestSim {
    let server = sim::spawn(config).await.expect("simulator starts");
    let base = server.base_url();
    let http = reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap();
    TestSim { server, base, http }
}

impl TestSim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn token_response(&self, key: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url("/token"))
            .header("basiq-version", "3.0")
            .header("authorization", format!("Basic {key}"))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn server_token(&self) -> String {
        let r = self
            .token_response(KEY, &[("scope", "SERVER_ACCESS")])
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn client_token(&self, user_id: &str) -> String {
        let r = self
            .token_response(KEY, &[("scope", "CLIENT_ACCESS"), ("userId", user_id)])
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Sends as the BFF does, with `basiq-version: 3.0` on every call.
    pub async fn send(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.send_with_version(method, Some("3.0"), token, path, body)
            .await
    }

    /// Sends with `basiq-version` set to `version`, or without the header.
    pub async fn send_with_version(
        &self,
        method: reqwest::Method,
        version: Option<&str>,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            self.url(path)
        };
        let mut req = self.http.request(method, url).bearer_auth(token);
        if let Some(version) = version {
            req = req.header("basiq-version", version);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, value)
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, token, path, None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, token, path, body).await
    }

    pub async fn delete(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::DELETE, token, path, None).await
    }

    pub async fn create_user(&self, token: &str) -> String {
        let (status, user) = self
            .post(
                token,
                "/users",
                Some(json!({ "email": "gavin@hooli.test", "mobile": "+61410000000" })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        user["id"].as_str().unwrap().to_owned()
    }

    /// Posts the Consent UI form; answers the raw response.
    pub async fn consent_connect(&self, fields: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url("/consent/connect"))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Connects through the Consent UI and answers the job id from the redirect.
    pub async fn connect(
        &self,
        user_id: &str,
        institution: &str,
        login: &str,
        password: &str,
    ) -> String {
        let client = self.client_token(user_id).await;
        let r = self
            .consent_connect(&[
                ("token", client.as_str()),
                ("state", "st"),
                ("institutionId", institution),
                ("loginId", login),
                ("password", password),
            ])
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        job_id_from_location(r.headers()["location"].to_str().unwrap())
    }

    /// Polls the job until it has ended (every step done, or one failed).
    pub async fn wait_job(&self, token: &str, job_id: &str) -> Value {
        for _ in 0..400 {
            let (status, job) = self.get(token, &format!("/jobs/{job_id}")).await;
            assert_eq!(status, StatusCode::OK, "{job}");
            let steps = job["steps"].as_array().unwrap();
            let done = steps.iter().all(|s| s["status"] == "success")
                || steps.iter().any(|s| s["status"] == "failed");
            if done {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("job {job_id} never ended");
    }

    /// A user with one successful Hooli connection whose job has ended: (token, user, connection).
    pub async fn connected_user(&self) -> (String, String, String) {
        let token = self.server_token().await;
        let user = self.create_user(&token).await;
        let job = self
            .connect(&user, "AU00000", "Wentworth-Smith", "whislter")
            .await;
        let job = self.wait_job(&token, &job).await;
        let connection = connection_of(&job);
        (token, user, connection)
    }

    /// Follows `links.next` from `path` and answers every transaction seen.
    pub async fn all_transactions(&self, token: &str, path: &str) -> Vec<Value> {
        let mut seen = Vec::new();
        let mut next = Some(self.url(path));
        while let Some(url) = next {
            let (status, page) = self.get(token, &url).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            seen.extend(page["data"].as_array().unwrap().iter().cloned());
            next = page["links"]["next"].as_str().map(str::to_owned);
        }
        seen
    }
}

pub fn job_id_from_location(location: &str) -> String {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "jobIds")
        .map(|(_, v)| v.into_owned())
        .expect("jobIds in the redirect")
}

pub fn connection_of(job: &Value) -> String {
    job["links"]["source"]
        .as_str()
        .expect("links.source once verify-credentials is over")
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

/// The `code` and `source` of the first error of a Basiq error envelope.
pub fn error_of(body: &Value) -> (&str, &Value) {
    assert_eq!(body["type"], "list", "{body}");
    assert!(body["correlationId"].is_string(), "{body}");
    let error = &body["data"][0];
    assert_eq!(error["type"], "error", "{body}");
    (error["code"].as_str().unwrap(), &error["source"])
}

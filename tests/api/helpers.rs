use std::{collections::HashMap, time::Duration};

use basiq_bff::{
    basiq::TokenPolicy,
    config::Settings,
    startup::{Application, Options},
};
use basiq_sim::{SimConfig, SimServer};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{StatusCode, redirect::Policy};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};
use tokio::{net::TcpListener, sync::oneshot};

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret!";
pub const RETURN_TO: &str = "https://app.example.com/banks";

pub fn database_server_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh, empty database on the test server, dropped when the test is done with it.
pub struct TestDatabase {
    pub url: String,
    name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs outside async code: a thread of its own, with a runtime of its own.
        let name = std::mem::take(&mut self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&database_server_url()).await.ok()?;
                // `with (force)`: the app's own connections may still be closing.
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "drop database if exists {name} with (force)"
                )))
                .execute(&mut conn)
                .await
                .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("could not drop the test database (it is left behind)");
        }
    }
}

/// A fresh, empty database on the test server.
pub async fn fresh_database() -> TestDatabase {
    let server = database_server_url();
    let mut conn = PgConnection::connect(&server)
        .await
        .expect("DATABASE_URL must point at a Postgres where we may create databases");
    let name = format!("bff_test_{}", uuid::Uuid::new_v4().simple());
    // The name is ours: a fixed prefix and a UUID.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(&mut conn)
        .await
        .expect("create database");
    let mut url = url::Url::parse(&server).unwrap();
    url.set_path(&name);
    TestDatabase {
        url: url.to_string(),
        name,
    }
}

pub struct TestApp {
    pub base: String,
    pub sim: SimServer,
    /// Between the app and Postgres, when the setup asked for it: cut it to lose the database.
    pub db_proxy: Option<DbProxy>,
    pub http: reqwest::Client,
    pub pool: sqlx::PgPool,
    env: HashMap<&'static str, String>,
    stop: Option<oneshot::Sender<()>>,
    /// Last: dropped after the app and the test's pool.
    _database: TestDatabase,
}

/// Another basiq-bff process on the same database and simulator, as a second replica.
pub struct Replica {
    pub base: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub struct Setup {
    pub sim: SimConfig,
    pub env: Vec<(&'static str, String)>,
    pub options: Options,
    /// The simulator signs and delivers webhooks to the BFF, which has the secret.
    pub webhooks: bool,
    /// The app reaches Postgres through a [`DbProxy`] the test can cut.
    pub database_proxy: bool,
}

pub const WEBHOOK_SECRET: &str = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0xMjM0NTY3OA==";

impl Default for Setup {
    fn default() -> Self {
        Self {
            sim: SimConfig {
                addr: "127.0.0.1:0".parse().unwrap(),
                job_step: Duration::from_millis(20),
                ..SimConfig::default()
            },
            env: Vec::new(),
            webhooks: false,
            database_proxy: false,
            options: Options {
                token_policy: TokenPolicy {
                    min_backoff: Duration::from_millis(50),
                    max_backoff: Duration::from_millis(400),
                    ..TokenPolicy::default()
                },
                watch_interval: Duration::from_millis(100),
                ..Options::default()
            },
        }
    }
}

/// A setup whose app keeps no answers: every read calls Basiq (for tests of the upstream path).
pub fn calling_basiq_every_time() -> Setup {
    Setup {
        env: vec![("ANSWER_CACHE_BYTES", "0".into())],
        ..Setup::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Setup::default()).await
}

pub async fn spawn_app_with(setup: Setup) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (webhook_url, webhook_secret) = match setup.webhooks {
        true => (
            Some(format!("{base}/webhooks/basiq")),
            Some(WEBHOOK_SECRET.to_owned()),
        ),
        false => (None, None),
    };
    let sim = basiq_sim::spawn(SimConfig {
        redirect_url: format!("{base}/v1/consent/callback"),
        webhook_url,
        webhook_secret,
        ..setup.sim
    })
    .await
    .expect("simulator starts");
    let database = fresh_database().await;
    let database_url = database.url.clone();
    let (db_proxy, app_database_url) = if setup.database_proxy {
        let mut url = url::Url::parse(&database_url).unwrap();
        let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
        let proxy = DbProxy::start(target).await;
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(proxy.port)).unwrap();
        (Some(proxy), url.to_string())
    } else {
        (None, database_url.clone())
    };
    let mut env: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", app_database_url),
        ("PUBLIC_BASE_URL", base.clone()),
        ("BASIQ_API_KEY", "sim-api-key".to_owned()),
        ("BASIQ_API_URL", sim.base_url()),
        (
            "BASIQ_CONSENT_URL",
            format!("{}/consent/home", sim.base_url()),
        ),
        ("APP_JWT_SECRET", JWT_SECRET.to_owned()),
        (
            "ALLOWED_RETURN_URLS",
            "https://app.example.com,myapp://".to_owned(),
        ),
        (
            "DATA_ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
        ),
    ]);
    if setup.webhooks {
        env.insert("BASIQ_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned());
    }
    for (k, v) in setup.env {
        if v.is_empty() {
            env.remove(k);
        } else {
            env.insert(k, v);
        }
    }
    let settings = Settings::from_lookup(|k| env.get(k).cloned()).expect("test settings are valid");
    let app = Application::build_on(settings, listener, setup.options)
        .await
        .expect("app builds");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let pool = sqlx::PgPool::connect(&database_url).await.unwrap();
    TestApp {
        base,
        sim,
        db_proxy,
        http: reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap(),
        pool,
        env,
        stop: Some(stop),
        _database: database,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn jwt_for(sub: &str) -> String {
    jwt_with(json!({
        "sub": sub,
        "email": format!("{sub}@example.com"),
        "exp": now() + 3600,
    }))
}

pub fn jwt_with(claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// A problem+json answer's `field`, asserting the shape on the way.
    pub fn problem_field(&self) -> Option<&str> {
        assert_eq!(
            self.headers["content-type"], "application/problem+json",
            "{:?}",
            self.body
        );
        assert_eq!(self.body["status"], self.status.as_u16());
        assert!(self.body["code"].is_string());
        assert!(self.body["requestId"].is_string(), "{:?}", self.body);
        self.body["field"].as_str()
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        headers,
        body,
    }
}

impl TestApp {
    pub async fn get(&self, path: &str, sub: &str) -> Answer {
        self.get_with_token(path, &jwt_for(sub)).await
    }

    /// `GET` from another server of the same configuration (a replica, the real binary).
    pub async fn get_at(&self, base: &str, path: &str, sub: &str) -> Answer {
        let r = self
            .http
            .get(format!("{base}{path}"))
            .bearer_auth(jwt_for(sub))
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    pub async fn get_with_token(&self, path: &str, token: &str) -> Answer {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    pub async fn post(&self, path: &str, sub: &str, body: Value) -> Answer {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(jwt_for(sub))
            .json(&body)
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    pub async fn patch(&self, path: &str, sub: &str, body: Value) -> Answer {
        let r = self
            .http
            .patch(format!("{}{path}", self.base))
            .bearer_auth(jwt_for(sub))
            .json(&body)
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    pub async fn delete(&self, path: &str, sub: &str) -> Answer {
        let r = self
            .http
            .delete(format!("{}{path}", self.base))
            .bearer_auth(jwt_for(sub))
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    pub async fn get_unauthenticated(&self, path: &str) -> Answer {
        answer(
            self.http
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// `POST /v1/consent`, asserting success; the Consent UI URL.
    pub async fn consent_url(&self, sub: &str, body: Value) -> url::Url {
        let a = self.post("/v1/consent", sub, body).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        url::Url::parse(a.body["consentUrl"].as_str().unwrap()).unwrap()
    }

    /// Walks the Consent UI like a browser: opens the page, submits the login form, and returns
    /// where the simulator redirects (the BFF callback URL).
    pub async fn submit_consent_form(
        &self,
        consent_url: &url::Url,
        login: &str,
        password: &str,
    ) -> String {
        self.submit_consent_form_at(consent_url, "AU00000", login, password)
            .await
    }

    pub async fn submit_consent_form_at(
        &self,
        consent_url: &url::Url,
        institution: &str,
        login: &str,
        password: &str,
    ) -> String {
        let page = self.http.get(consent_url.clone()).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("name=\"loginId\""), "{html}");
        let q: HashMap<String, String> = consent_url.query_pairs().into_owned().collect();
        let form = [
            ("token", q["token"].as_str()),
            ("state", q["state"].as_str()),
            ("institutionId", institution),
            ("loginId", login),
            ("password", password),
        ];
        let r = self
            .http
            .post(format!("{}/consent/connect", self.sim.base_url()))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        r.headers()["location"].to_str().unwrap().to_owned()
    }

    /// The whole consent round trip for `sub`, waiting for the jobs to finish; the job ids the
    /// app receives.
    pub async fn connect_bank(&self, sub: &str, login: &str, password: &str) -> Vec<String> {
        let ids = self.start_connect_bank(sub, login, password).await;
        for id in &ids {
            self.wait_for_job(sub, id).await;
        }
        ids
    }

    /// The consent round trip without waiting for the jobs.
    pub async fn start_connect_bank(&self, sub: &str, login: &str, password: &str) -> Vec<String> {
        self.start_connect_bank_at(sub, "AU00000", login, password)
            .await
    }

    pub async fn start_connect_bank_at(
        &self,
        sub: &str,
        institution: &str,
        login: &str,
        password: &str,
    ) -> Vec<String> {
        let consent_url = self.consent_url(sub, json!({"returnTo": RETURN_TO})).await;
        let callback = self
            .submit_consent_form_at(&consent_url, institution, login, password)
            .await;
        let r = self.http.get(&callback).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let back = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        assert!(back.as_str().starts_with(RETURN_TO), "{back}");
        let q: HashMap<String, String> = back.query_pairs().into_owned().collect();
        q.get("jobIds")
            .unwrap_or_else(|| panic!("no jobIds in {back}"))
            .split(',')
            .map(str::to_owned)
            .collect()
    }

    /// Polls `GET /v1/jobs/{id}` until the job is final.
    pub async fn wait_for_job(&self, sub: &str, job_id: &str) -> Value {
        for _ in 0..300 {
            let a = self.get(&format!("/v1/jobs/{job_id}"), sub).await;
            assert_eq!(a.status, 200, "{:?}", a.body);
            let status = a.body["status"].as_str().unwrap();
            if !matches!(status, "pending" | "in_progress") {
                return a.body;
            }
            // A poll is answered from a view up to 2 s old: no need to ask more often (and the
            // user's rate limit would notice).
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("job {job_id} never finished");
    }

    /// A server token of the test's own from the simulated Basiq.
    pub async fn basiq_token(&self) -> String {
        let token: Value = self
            .http
            .post(format!("{}/token", self.sim.base_url()))
            .header("authorization", "Basic sim-api-key")
            .header("basiq-version", "3.0")
            .form(&[("scope", "SERVER_ACCESS")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        token["access_token"].as_str().unwrap().to_owned()
    }

    /// What the simulated Basiq itself answers at `path` (with a server token of its own), to
    /// compare with what the BFF makes of it.
    pub async fn basiq_get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.sim.base_url()))
            .bearer_auth(self.basiq_token().await)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Deletes at the simulated Basiq itself, as its dashboard or another app would.
    pub async fn basiq_delete(&self, path: &str) {
        let r = self
            .http
            .delete(format!("{}{path}", self.sim.base_url()))
            .bearer_auth(self.basiq_token().await)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }

    /// Every call the simulator received, oldest first.
    pub async fn sim_requests(&self) -> Vec<Value> {
        reqwest::get(format!("{}/__sim/requests", self.sim.base_url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn sim_post(&self, path: &str, body: Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.sim.base_url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }

    pub async fn sim_delete(&self, path: &str) {
        let r = self
            .http
            .delete(format!("{}{path}", self.sim.base_url()))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }
}

impl TestApp {
    /// The user's Basiq user, as stored (without asking a server).
    pub async fn basiq_user_id_in_db(&self, sub: &str) -> String {
        sqlx::query_scalar("select basiq_user_id from app_users where app_user_id = $1")
            .bind(sub)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    pub async fn basiq_user_id(&self, sub: &str) -> String {
        self.get("/v1/me", sub).await.body["basiqUserId"]
            .as_str()
            .expect("the user has a Basiq user")
            .to_owned()
    }

    /// Polls `check` against the database until it holds, or panics with `what`.
    pub async fn eventually<F, Fut>(&self, what: &str, check: F)
    where
        F: Fn(sqlx::PgPool) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..500 {
            if check(self.pool.clone()).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("never happened: {what}");
    }
}

impl TestApp {
    /// Stops this app's own server and background work, as a process that exits; its database
    /// stays, for replicas.
    pub fn stop_server(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    pub async fn spawn_replica(&self) -> Replica {
        self.spawn_replica_with(&[]).await
    }

    /// A replica with `overrides` replacing variables of this app's configuration.
    pub async fn spawn_replica_with(&self, overrides: &[(&str, &str)]) -> Replica {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let env = self.env_with(overrides);
        let settings = Settings::from_lookup(|k| env.get(k).cloned()).unwrap();
        let app = Application::build_on(settings, listener, Setup::default().options)
            .await
            .expect("replica builds");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Replica {
            base,
            stop: Some(stop),
        }
    }
}

impl TestApp {
    fn env_with(&self, overrides: &[(&str, &str)]) -> HashMap<String, String> {
        let mut env: HashMap<String, String> = self
            .env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        for (k, v) in overrides {
            env.insert(k.to_string(), v.to_string());
        }
        env
    }

    /// Runs the real `basiq-bff` binary with `args`, configured as this app is, with
    /// `overrides` replacing variables.
    pub async fn run_bff(&self, args: &[&str], overrides: &[(&str, &str)]) -> Run {
        run_bff(args, self.env_with(overrides)).await
    }
}

impl TestApp {
    /// Starts the real `basiq-bff` binary as a server, configured as this app is (same
    /// database and simulator) with `overrides` replacing variables, and waits until it is
    /// ready.
    pub async fn start_bff(&self, overrides: &[(&str, &str)]) -> Bff {
        self.start_bff_on(free_port(), overrides).await
    }

    /// [`Self::start_bff`] on `port` (a restart keeps its address, and the address Basiq's
    /// webhooks go to).
    pub async fn start_bff_on(&self, port: u16, overrides: &[(&str, &str)]) -> Bff {
        let base = format!("http://127.0.0.1:{port}");
        let mut env = self.env_with(overrides);
        env.insert("BIND_ADDR".into(), format!("127.0.0.1:{port}"));
        env.insert("LOG_FORMAT".into(), "json".into());
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_basiq-bff"))
            .env_clear()
            .envs(env)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the basiq-bff binary starts");
        // Read as it comes, so that a full pipe never stops the process.
        let mut out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut logs = String::new();
            let _ = std::io::Read::read_to_string(&mut out, &mut logs);
            logs
        });
        let mut bff = Bff {
            base,
            child,
            stdout: Some(stdout),
        };
        for _ in 0..400 {
            if let Ok(r) = self.http.get(format!("{}/readyz", bff.base)).send().await
                && r.status() == 200
            {
                return bff;
            }
            if let Some(status) = bff.child.try_wait().unwrap() {
                let mut stderr = String::new();
                std::io::Read::read_to_string(bff.child.stderr.as_mut().unwrap(), &mut stderr)
                    .unwrap();
                panic!("basiq-bff exited with {status}: {stderr}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("basiq-bff never became ready");
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The real binary serving, from [`TestApp::start_bff`]; killed if dropped unstopped.
pub struct Bff {
    pub base: String,
    child: std::process::Child,
    stdout: Option<std::thread::JoinHandle<String>>,
}

impl Bff {
    /// SIGTERM, as an orchestrator stops a pod; waits for a clean exit and returns what the
    /// process printed on stdout (its logs).
    pub async fn stop(mut self) -> String {
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        for _ in 0..400 {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit status {status}");
                return self.stdout.take().unwrap().join().unwrap();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("basiq-bff did not exit after SIGTERM");
    }
}

impl Bff {
    /// SIGKILL, as a crash or an OOM kill: no shutdown work at all.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits up to `within` for the process to end by itself (a crash point aborted it):
    /// whether it did, and did not exit cleanly.
    pub async fn crashed_within(&mut self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return !status.success();
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        false
    }
}

impl Drop for Bff {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a run of the binary printed, and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the real `basiq-bff` binary with `args` and only the variables of `env`.
pub async fn run_bff(args: &[&str], env: HashMap<String, String>) -> Run {
    // tokio's, so the in-process simulator keeps answering while the binary calls it.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_basiq-bff"))
        .args(args)
        .env_clear()
        .envs(env)
        .output()
        .await
        .expect("the basiq-bff binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A TCP hop between the app and Postgres. `cut` drops every connection through it and then
/// takes new ones without ever answering (a database host gone silent); `restore` forwards
/// again.
pub struct DbProxy {
    pub port: u16,
    state: std::sync::Arc<ProxyState>,
}

#[derive(Default)]
struct ProxyState {
    cut: std::sync::atomic::AtomicBool,
    links: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl DbProxy {
    pub async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = std::sync::Arc::new(ProxyState::default());
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let cut = shared.cut.load(std::sync::atomic::Ordering::SeqCst);
                let link = tokio::spawn(async move {
                    if cut {
                        // Hold it open, silent, until the test restores or ends.
                        std::future::pending::<()>().await;
                    }
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                shared.links.lock().unwrap().push(link);
            }
        });
        Self { port, state }
    }

    pub fn cut(&self) {
        self.state
            .cut
            .store(true, std::sync::atomic::Ordering::SeqCst);
        for link in self.state.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    pub fn restore(&self) {
        self.state
            .cut
            .store(false, std::sync::atomic::Ordering::SeqCst);
        for link in self.state.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }
}

//! Push (SPEC.md §7): the caller's events as Server-Sent Events, with replay, tickets, caps and
//! replicas; the same events delivered to the company's backend from the outbox; polls of a job
//! that cost Basiq nothing extra.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, http::HeaderMap, routing::post};
use base64::{Engine, engine::general_purpose::STANDARD};
use basiq_bff::events::StreamLimits;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpListener;

use crate::helpers::{Setup, TestApp, jwt_for, spawn_app, spawn_app_with};

/// One event as a stream sent it.
#[derive(Debug, Clone)]
pub struct Sse {
    pub id: Option<i64>,
    pub event: String,
    pub data: Value,
}

/// An open `GET /v1/events`, read event by event.
pub struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    pub async fn open(app: &TestApp, sub: &str, last_event_id: Option<i64>) -> Self {
        let mut request = app
            .http
            .get(format!("{}/v1/events", app.base))
            .bearer_auth(jwt_for(sub));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        Self::from(request.send().await.unwrap())
    }

    fn from(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), 200, "the stream opens");
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (comments skipped), or `None` once the stream ended or nothing came
    /// within `wait`.
    async fn next_within(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if let Some(event) = event {
                    return Some(Sse {
                        id,
                        event,
                        data: serde_json::from_str(&data).expect("event data is JSON"),
                    });
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(Ok(None) | Err(_)) | Err(_) => return None,
            }
        }
    }

    pub async fn next(&mut self) -> Sse {
        self.next_within(Duration::from_secs(15))
            .await
            .expect("an event arrives")
    }

    /// Events until one satisfies `done` (included).
    pub async fn until(&mut self, done: impl Fn(&Sse) -> bool) -> Vec<Sse> {
        let mut seen = Vec::new();
        loop {
            let event = self.next().await;
            let last = done(&event);
            seen.push(event);
            if last {
                return seen;
            }
        }
    }
}

fn is_job_done(job_id: &str) -> impl Fn(&Sse) -> bool + '_ {
    move |e| e.event == "job.updated" && e.data["id"] == job_id && e.data["status"] == "succeeded"
}

/// Waits until an event of `event_type` is stored for `sub`.
async fn stored(app: &TestApp, sub: &'static str, event_type: &'static str) {
    app.eventually(event_type, move |pool| async move {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from events where app_user_id = $1 and event_type = $2",
        )
        .bind(sub)
        .bind(event_type)
        .fetch_one(&pool)
        .await
        .unwrap()
            > 0
    })
    .await;
}

/// Alice with a bank connected and the watcher done telling her so.
async fn connected(app: &TestApp) {
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    stored(app, "alice", "connection.updated").await;
}

async fn first_connection(app: &TestApp) -> String {
    app.get("/v1/connections", "alice").await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn stored_event_ids(app: &TestApp, sub: &str) -> Vec<i64> {
    sqlx::query_scalar("select id from events where app_user_id = $1 order by id")
        .bind(sub)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_stream_sees_its_own_users_job_go_from_pending_to_succeeded_and_never_another_users() {
    // Steps slow enough that the job is seen running first.
    let mut setup = Setup::default();
    setup.sim.job_step = Duration::from_millis(300);
    let app = spawn_app_with(setup).await;
    let mut alice = Stream::open(&app, "alice", None).await;
    let mut bob = Stream::open(&app, "bob", None).await;
    let jobs = app
        .start_connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let seen = alice.until(is_job_done(&jobs[0])).await;
    let statuses: Vec<&str> = seen
        .iter()
        .filter(|e| e.event == "job.updated")
        .map(|e| e.data["status"].as_str().unwrap())
        .collect();
    assert_ne!(statuses.first(), Some(&"succeeded"), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&"succeeded"));
    // Each event moved the job on: its steps as the job view shows them.
    assert!(seen.iter().all(|e| e.id.is_some()));
    assert!(seen[0].data["steps"].is_array());
    // Then the connection it made, and its data.
    let after = alice
        .until(|e| e.event == "connection.updated")
        .await
        .pop()
        .unwrap();
    assert_eq!(after.data["status"], "active");
    assert!(after.data["institution"]["id"].is_string());
    // Bob heard nothing of it.
    assert!(bob.next_within(Duration::from_millis(500)).await.is_none());
}

#[tokio::test]
async fn a_job_that_succeeded_tells_the_stream_its_connections_data_changed() {
    let app = spawn_app().await;
    let mut alice = Stream::open(&app, "alice", None).await;
    app.start_connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let data = alice
        .until(|e| e.event == "data.updated")
        .await
        .pop()
        .unwrap();
    let connections = app.get("/v1/connections", "alice").await;
    assert_eq!(data.data["connectionId"], connections.body["data"][0]["id"]);
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_gets_exactly_the_missed_events_in_order() {
    let app = spawn_app().await;
    let mut first = Stream::open(&app, "alice", None).await;
    let jobs = app
        .start_connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let one = first.next().await;
    drop(first);
    // While away: the job finishes, and more events are written.
    app.wait_for_job("alice", &jobs[0]).await;
    stored(&app, "alice", "connection.updated").await;
    let missed: Vec<i64> = stored_event_ids(&app, "alice")
        .await
        .into_iter()
        .filter(|id| *id > one.id.unwrap())
        .collect();
    assert!(!missed.is_empty());
    let mut again = Stream::open(&app, "alice", one.id).await;
    let mut replayed = Vec::new();
    while replayed.len() < missed.len() {
        replayed.push(again.next().await.id.unwrap());
    }
    assert_eq!(replayed, missed, "exactly the missed ones, in order");
    assert!(
        again
            .next_within(Duration::from_millis(300))
            .await
            .is_none(),
        "and no repeats"
    );
}

#[tokio::test]
async fn a_stream_without_last_event_id_gets_only_live_events() {
    let app = spawn_app().await;
    connected(&app).await;
    let mut stream = Stream::open(&app, "alice", None).await;
    assert!(
        stream
            .next_within(Duration::from_millis(300))
            .await
            .is_none()
    );
    let connection = first_connection(&app).await;
    assert_eq!(
        app.delete(&format!("/v1/connections/{connection}"), "alice")
            .await
            .status,
        204
    );
    let gone = stream.next().await;
    assert_eq!(gone.event, "connection.updated");
    assert_eq!(gone.data["id"], connection.as_str());
    assert_eq!(gone.data["status"], "deleted");
}

#[tokio::test]
async fn an_event_written_on_one_replica_reaches_a_stream_open_on_another() {
    let app = spawn_app().await;
    connected(&app).await;
    let replica = app.spawn_replica().await;
    let response = app
        .http
        .get(format!("{}/v1/events", replica.base))
        .bearer_auth(jwt_for("alice"))
        .send()
        .await
        .unwrap();
    let mut on_b = Stream::from(response);
    // Written on the first replica.
    assert_eq!(app.delete("/v1/me", "alice").await.status, 204);
    let erased = on_b.next().await;
    assert_eq!(erased.event, "user.erased");
    assert_eq!(erased.data["userId"], "alice");
}

#[tokio::test]
async fn erasing_the_user_erases_their_events_and_says_so_last() {
    let app = spawn_app().await;
    connected(&app).await;
    assert_eq!(app.delete("/v1/me", "alice").await.status, 204);
    let left: Vec<String> =
        sqlx::query_scalar("select event_type from events where app_user_id = 'alice'")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(left, ["user.erased"]);
}

async fn ticket(app: &TestApp, sub: &str) -> String {
    let answer = app.post("/v1/events/ticket", sub, Value::Null).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(answer.body["expiresAt"].is_string());
    answer.body["ticket"].as_str().unwrap().to_owned()
}

async fn open_with_ticket(app: &TestApp, ticket: &str) -> reqwest::Response {
    app.http
        .get(format!("{}/v1/events", app.base))
        .query(&[("ticket", ticket)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_ticket_opens_its_users_stream_once_and_expires() {
    let app = spawn_app().await;
    let first = ticket(&app, "alice").await;
    let mut stream = Stream::from(open_with_ticket(&app, &first).await);
    // Used: a second stream with it is refused.
    let again = open_with_ticket(&app, &first).await;
    assert_eq!(again.status(), 401);
    // It is alice's: her events, and no one else's.
    assert_eq!(app.delete("/v1/me", "bob").await.status, 204);
    assert_eq!(app.delete("/v1/me", "alice").await.status, 204);
    let event = stream.next().await;
    assert_eq!(event.data["userId"], "alice");
    // Expired before use.
    let late = ticket(&app, "alice").await;
    sqlx::query(
        "update stream_tickets set expires_at = now() - interval '1 second' where used_at is null",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(open_with_ticket(&app, &late).await.status(), 401);
    // Made up.
    assert_eq!(open_with_ticket(&app, "not-a-ticket").await.status(), 401);
    // Only its hash is stored.
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("select ticket_hash from stream_tickets")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|h| h.len() == 32 && !first.as_bytes().starts_with(h))
    );
}

#[tokio::test]
async fn an_open_refused_for_a_bad_last_event_id_or_a_full_cap_leaves_the_ticket_good_for_one_stream()
 {
    let mut setup = Setup::default();
    setup.options.stream_limits = StreamLimits {
        per_user: 1,
        per_replica: 10,
    };
    let app = spawn_app_with(setup).await;
    let ticket = ticket(&app, "alice").await;
    let open = |last_event_id: &'static str| {
        let request = app
            .http
            .get(format!("{}/v1/events", app.base))
            .query(&[("ticket", ticket.as_str()), ("lastEventId", last_event_id)]);
        async move { request.send().await.unwrap() }
    };
    let bad_id = open("yesterday").await;
    assert_eq!(bad_id.status(), 400);
    // Alice's one stream is open: the cap refuses another.
    let first = Stream::open(&app, "alice", None).await;
    let full = open("").await;
    assert_eq!(full.status(), 429);
    drop(first);
    // Once there is room, the ticket opens its stream, and only one.
    let mut opened = None;
    for _ in 0..100 {
        let r = open("").await;
        if r.status() != 429 {
            opened = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _stream = Stream::from(opened.expect("the closed stream's place came back"));
    assert_eq!(open("").await.status(), 401);
}

#[tokio::test]
async fn a_ticket_and_an_authorization_header_together_are_refused() {
    let app = spawn_app().await;
    let ticket = ticket(&app, "alice").await;
    let both = app
        .http
        .get(format!("{}/v1/events", app.base))
        .query(&[("ticket", ticket.as_str())])
        .bearer_auth(jwt_for("bob"))
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), 401);
    let unknown = app.get("/v1/events?since=1", "alice").await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.problem_field(), Some("since"));
    let bad_id = app
        .http
        .get(format!("{}/v1/events", app.base))
        .bearer_auth(jwt_for("alice"))
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_id.status(), 400);
}

#[tokio::test]
async fn streams_over_the_per_user_or_per_replica_cap_are_refused_with_429() {
    let mut setup = Setup::default();
    setup.options.stream_limits = StreamLimits {
        per_user: 2,
        per_replica: 3,
    };
    let app = spawn_app_with(setup).await;
    let a1 = Stream::open(&app, "alice", None).await;
    let _a2 = Stream::open(&app, "alice", None).await;
    let third = app.get("/v1/events", "alice").await;
    assert_eq!(third.status, 429);
    assert_eq!(third.body["code"], "too_many_streams");
    assert!(third.headers.contains_key("retry-after"));
    let _b1 = Stream::open(&app, "bob", None).await;
    let carol = app.get("/v1/events", "carol").await;
    assert_eq!(carol.status, 429, "the replica is full");
    // A stream closed gives its place back.
    drop(a1);
    for _ in 0..100 {
        let r = app
            .http
            .get(format!("{}/v1/events", app.base))
            .bearer_auth(jwt_for("alice"))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the closed stream's place never came back");
}

#[tokio::test]
async fn polls_of_a_job_cost_basiq_nothing_extra() {
    let app = spawn_app().await;
    let jobs = app
        .start_connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let path = format!("/jobs/{}", jobs[0]);
    let before = app
        .sim_requests()
        .await
        .iter()
        .filter(|r| r["path"] == path.as_str())
        .count();
    // Twenty tabs poll at once, three times.
    let poll = format!("/v1/jobs/{}", jobs[0]);
    for _ in 0..3 {
        let polls: Vec<_> = (0..20).map(|_| app.get(&poll, "alice")).collect();
        for answer in futures_util::future::join_all(polls).await {
            assert_eq!(answer.status, 200);
            assert_eq!(answer.body["id"], jobs[0].as_str());
        }
    }
    let calls = app
        .sim_requests()
        .await
        .iter()
        .filter(|r| r["path"] == path.as_str())
        .count()
        - before;
    // Sixty polls within well under two seconds: Basiq saw at most a couple of them (and the
    // watcher's own checks).
    assert!(calls <= 4, "{calls} Basiq calls for 60 polls");
}

/// The company's backend, as a test sees it: every delivery it was sent, and whether it is up.
#[derive(Clone, Default)]
pub struct Backend {
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    up: Arc<std::sync::atomic::AtomicBool>,
}

pub const APP_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

impl Backend {
    pub async fn start() -> (Self, String) {
        let backend = Self::default();
        backend.set_up(true);
        let shared = backend.clone();
        let router = Router::new().route(
            "/hooks",
            post(move |headers: HeaderMap, body: String| {
                let shared = shared.clone();
                async move {
                    if !shared.up.load(std::sync::atomic::Ordering::SeqCst) {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    shared.received.lock().unwrap().push((headers, body));
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (backend, url)
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<(HeaderMap, String)> {
        self.received.lock().unwrap().clone()
    }

    pub async fn wait_for(&self, what: &str, done: impl Fn(&[(HeaderMap, String)]) -> bool) {
        for _ in 0..600 {
            if done(&self.received()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the backend never got {what}: {:?}", self.received().len());
    }
}

/// Verifies a delivery as a Standard Webhooks library does, independently of the service's
/// code: HMAC-SHA256 of `id.timestamp.body` with the secret's base64 after `whsec_`.
fn verifies(headers: &HeaderMap, body: &str) -> bool {
    let id = headers["webhook-id"].to_str().unwrap();
    let ts = headers["webhook-timestamp"].to_str().unwrap();
    let key = STANDARD
        .decode(APP_SECRET.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.{body}").as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let fresh = (ts.parse::<i64>().unwrap() - chrono::Utc::now().timestamp()).abs() < 300;
    fresh
        && headers["webhook-signature"]
            .to_str()
            .unwrap()
            .split(' ')
            .any(|s| s == expected)
}

pub fn with_backend(url: &str) -> Setup {
    Setup {
        env: vec![
            ("APP_WEBHOOK_URL", url.to_owned()),
            ("APP_WEBHOOK_SECRET", APP_SECRET.to_owned()),
        ],
        ..Setup::default()
    }
}

#[tokio::test]
async fn the_backend_gets_each_event_signed_in_order_and_once() {
    let (backend, url) = Backend::start().await;
    let app = spawn_app_with(with_backend(&url)).await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let stored = stored_event_ids(&app, "alice").await;
    backend
        .wait_for("every event", |got| got.len() >= stored.len())
        .await;
    // Acknowledged: nothing more comes.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stored = stored_event_ids(&app, "alice").await;
    let got = backend.received();
    let ids: Vec<String> = got
        .iter()
        .map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = stored.iter().map(|id| format!("evt_{id}")).collect();
    assert_eq!(ids, expected, "each once, in order");
    for (headers, body) in &got {
        assert!(
            verifies(headers, body),
            "a Standard Webhooks verifier accepts it"
        );
        let delivery: Value = serde_json::from_str(body).unwrap();
        assert_eq!(delivery["userId"], "alice");
        assert!(delivery["type"].as_str().unwrap().contains('.'));
        assert_eq!(
            format!("evt_{}", delivery["eventId"].as_str().unwrap()),
            headers["webhook-id"].to_str().unwrap()
        );
        assert!(delivery["data"].is_object());
    }
    let delivered: i64 =
        sqlx::query_scalar("select count(*) from outbox where delivered_at is not null")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(delivered as usize, stored.len());
}

#[tokio::test]
async fn the_backend_gets_what_it_missed_while_down_and_after_a_restart() {
    let (backend, url) = Backend::start().await;
    backend.set_up(false);
    let app = spawn_app_with(with_backend(&url)).await;
    assert_eq!(app.delete("/v1/me", "alice").await.status, 204);
    // Refused while down: retried, not given up.
    app.eventually("a failed attempt is recorded", |pool| async move {
        sqlx::query_scalar::<_, i32>("select attempts from outbox")
            .fetch_optional(&pool)
            .await
            .unwrap()
            .is_some_and(|n| n >= 1)
    })
    .await;
    let (dead, last_status): (Option<chrono::DateTime<chrono::Utc>>, Option<i32>) =
        sqlx::query_as("select dead_at, last_status from outbox")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(dead.is_none());
    assert_eq!(last_status, Some(503));
    // The BFF restarts (the first process stops, another starts on the same database) and
    // the backend comes back; the retry is made sooner, as an operator would after an outage.
    let mut app = app;
    app.stop_server();
    let _restarted = app.spawn_replica().await;
    sqlx::query("update outbox set next_attempt_at = now()")
        .execute(&app.pool)
        .await
        .unwrap();
    backend.set_up(true);
    backend
        .wait_for("the missed event", |got| !got.is_empty())
        .await;
    let (headers, body) = backend.received().remove(0);
    assert!(verifies(&headers, &body));
    let delivery: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(delivery["type"], "user.erased");
    assert_eq!(delivery["data"], json!({"userId": "alice"}));
}

#[tokio::test]
async fn a_delivery_the_backend_refuses_with_a_4xx_is_dead_and_does_not_hold_up_others() {
    let received = Arc::new(Mutex::new(Vec::<String>::new()));
    let shared = received.clone();
    let router = Router::new().route(
        "/hooks",
        post(move |body: String| {
            let shared = shared.clone();
            async move {
                let delivery: Value = serde_json::from_str(&body).unwrap();
                let user = delivery["userId"].as_str().unwrap().to_owned();
                shared.lock().unwrap().push(user.clone());
                if user == "mallory" {
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let app = spawn_app_with(with_backend(&url)).await;
    assert_eq!(app.delete("/v1/me", "mallory").await.status, 204);
    assert_eq!(app.delete("/v1/me", "alice").await.status, 204);
    app.eventually("both are settled", |pool| async move {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from outbox where delivered_at is not null or dead_at is not null",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
            == 2
    })
    .await;
    let (status, dead): (Option<i32>, bool) = sqlx::query_as(
        "select last_status, dead_at is not null from outbox where app_user_id = 'mallory'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((status, dead), (Some(422), true));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let tries = received
        .lock()
        .unwrap()
        .iter()
        .filter(|u| *u == "mallory")
        .count();
    assert_eq!(tries, 1, "not retried");
}

/// Fills the outbox with `users` users' waiting deliveries, `per_user` each, event ids in turn
/// (`user-0`'s first is `users`), after statistics that say it is empty and with autovacuum off,
/// so the planner knows nothing of them.
async fn long_queue(app: &TestApp, users: i64, per_user: i64) {
    for statement in [
        "alter table outbox set (autovacuum_enabled = false)",
        "analyze outbox",
    ] {
        sqlx::query(statement).execute(&app.pool).await.unwrap();
    }
    sqlx::query(
        "insert into outbox (event_id, app_user_id, body_sealed)
         select g, 'user-' || (g % $1), '\\x00' from generate_series(1, $1 * $2) g",
    )
    .bind(users)
    .bind(per_user)
    .execute(&app.pool)
    .await
    .unwrap();
}

/// Every node of an `EXPLAIN (FORMAT JSON)` plan.
fn plan_nodes(node: &Value, out: &mut Vec<Value>) {
    out.push(node.clone());
    for child in node["Plans"].as_array().into_iter().flatten() {
        plan_nodes(child, out);
    }
}

#[tokio::test]
async fn a_claim_reads_a_few_pages_of_a_long_queue_even_with_statistics_from_when_it_was_empty() {
    let app = spawn_app().await;
    long_queue(&app, 5, 20_000).await;
    // The claim itself, run and rolled back.
    let mut tx = app.pool.begin().await.unwrap();
    // Our own query text, prefixed.
    let explain = format!(
        "explain (analyze, buffers, format json) {}",
        basiq_bff::db::events::CLAIM_DUE_SQL
    );
    let (plan,): (Value,) = sqlx::query_as(sqlx::AssertSqlSafe(explain))
        .bind(16i64)
        .bind("")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let mut nodes = Vec::new();
    plan_nodes(&plan[0]["Plan"], &mut nodes);
    for node in &nodes {
        let what = format!(
            "{} {}",
            node["Node Type"],
            node["Index Name"].as_str().unwrap_or("")
        );
        assert!(
            !(node["Node Type"] == "Seq Scan" && node["Relation Name"] == "outbox"),
            "a scan of the whole outbox: {plan:#}"
        );
        // Five users' first deliveries: nothing reads thousands of rows, or the pages of the
        // table (over a thousand) or of its indexes.
        let rows = node["Actual Rows"].as_f64().unwrap() * node["Actual Loops"].as_f64().unwrap();
        assert!(rows <= 100.0, "{what} read {rows} rows: {plan:#}");
        let pages = node["Shared Hit Blocks"].as_i64().unwrap()
            + node["Shared Read Blocks"].as_i64().unwrap();
        assert!(pages <= 300, "{what} read {pages} pages: {plan:#}");
    }
    // And it claims what it should: each user's first delivery.
    let claimed: HashSet<i64> = basiq_bff::db::events::claim_due(&app.pool, 16, "")
        .await
        .unwrap()
        .iter()
        .map(|d| d.event_id)
        .collect();
    assert_eq!(claimed, HashSet::from([1, 2, 3, 4, 5]));
}

#[tokio::test]
async fn users_take_turns_at_claims_and_only_a_users_oldest_waiting_delivery_is_claimed() {
    let app = spawn_app().await;
    long_queue(&app, 5, 3).await;
    let claim = |after: &'static str| {
        let pool = app.pool.clone();
        async move {
            basiq_bff::db::events::claim_due(&pool, 2, after)
                .await
                .unwrap()
                .iter()
                .map(|d| (d.app_user_id.clone(), d.event_id))
                .collect::<Vec<_>>()
        }
    };
    let first = claim("").await;
    assert_eq!(first, [("user-0".into(), 5), ("user-1".into(), 1)]);
    // The next claim goes on after the last user claimed, then round to the first.
    assert_eq!(
        claim("user-1").await,
        [("user-2".into(), 2), ("user-3".into(), 3)]
    );
    assert_eq!(claim("user-3").await, [("user-4".to_owned(), 4)]);
    // Leased, all of them: nothing behind them is claimed.
    assert_eq!(claim("").await, []);
    // Delivered (or given up on), a user's next delivery is claimed once it is due.
    sqlx::raw_sql(
        "update outbox set delivered_at = now() where event_id = 1;
         update outbox set dead_at = now() where event_id = 2;
         update outbox set next_attempt_at = now() + interval '1 minute' where event_id = 7",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(claim("").await, [("user-1".into(), 6)]);
}

#[tokio::test]
async fn events_stored_and_queued_are_sealed() {
    let (_backend, url) = Backend::start().await;
    let app = spawn_app_with(with_backend(&url)).await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let connection = first_connection(&app).await;
    let payloads: Vec<Vec<u8>> = sqlx::query_scalar(
        "select payload_sealed from events union all select body_sealed from outbox",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(!payloads.is_empty());
    let ids: HashSet<&[u8]> = [connection.as_bytes(), b"alice".as_slice(), b"succeeded"]
        .into_iter()
        .collect();
    for payload in &payloads {
        for id in &ids {
            assert!(
                !payload.windows(id.len()).any(|w| w == *id),
                "a payload holds {} in the clear",
                String::from_utf8_lossy(id)
            );
        }
    }
}

#[tokio::test]
async fn streams_hear_of_events_after_the_listener_connection_was_dropped() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let mut stream = Stream::open(&app, "alice", None).await;
    let dropped: Vec<bool> = sqlx::query_scalar(
        "select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and query ilike 'listen%'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(dropped, [true], "the listener's connection is cut");
    let connection = first_connection(&app).await;
    app.delete(&format!("/v1/connections/{connection}"), "alice")
        .await;
    // Well inside the 30 s a stream waits before looking at the table by itself.
    let mut seen = Vec::new();
    while let Some(event) = stream.next_within(Duration::from_secs(5)).await {
        let done = event.data["status"] == "deleted";
        seen.push(event);
        if done {
            return;
        }
    }
    panic!("the deletion never reached the stream: {seen:?}");
}

#[tokio::test]
async fn revoking_a_consent_in_the_app_tells_the_users_stream() {
    let app = spawn_app().await;
    connected(&app).await;
    let consent = app.get("/v1/consents", "alice").await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut stream = Stream::open(&app, "alice", None).await;
    assert_eq!(
        app.delete(&format!("/v1/consents/{consent}"), "alice")
            .await
            .status,
        204
    );
    let event = stream.next().await;
    assert_eq!(event.event, "consent.updated");
    assert_eq!(
        event.data,
        json!({"change": "revoked", "consentId": consent})
    );
}

#[tokio::test]
async fn a_stream_says_where_it_starts_before_any_event() {
    let app = spawn_app().await;
    assert_eq!(app.delete("/v1/me", "alice").await.status, 204);
    let newest = *stored_event_ids(&app, "alice").await.last().unwrap();
    let mut response = app
        .http
        .get(format!("{}/v1/events", app.base))
        .bearer_auth(jwt_for("alice"))
        .send()
        .await
        .unwrap();
    let first = String::from_utf8(response.chunk().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(first.contains(&format!("id: {newest}\n")), "{first:?}");
    assert!(first.contains("retry: 2000"), "{first:?}");
}

//! The durability promises under crashes and races (issue "Never lost, erased means erased"):
//! the real binary killed at the bad moment (a crash point, `BASIQ_BFF_CRASH_AT`, compiled
//! into debug builds only) and started again; a revocation racing a refresh; one user's slow
//! first syncs beside everyone else's requests.

use std::{collections::HashSet, time::Duration};

use serde_json::{Value, json};

use crate::events::{Backend, with_backend};
use crate::helpers::{Bff, TestApp, free_port, spawn_app, spawn_app_with};
use crate::sync::Copy;

/// Subscribes `url` to every event at the simulated Basiq (as `admin webhooks ensure` would):
/// the signing secret.
async fn subscribe(app: &TestApp, url: &str) -> String {
    let r: Value = app
        .http
        .post(format!("{}/notifications/webhooks", app.sim.base_url()))
        .bearer_auth(app.basiq_token().await)
        .json(&json!({
            "url": url,
            "subscribedEvents": [
                "connection.created", "connection.activated", "connection.deleted",
                "connection.invalidated", "account.updated", "transactions.updated",
                "consent.created", "consent.updated", "consent.revoked", "consent.expired",
                "consent.warning", "consent.reminder", "user.deleted"
            ]
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned()
}

/// The real binary on `port`, receiving Basiq's webhooks signed with `secret`, aborting at
/// `crash_at` if given.
async fn bff(app: &TestApp, port: u16, secret: &str, crash_at: Option<&str>) -> Bff {
    let base = format!("http://127.0.0.1:{port}");
    let mut env = vec![
        ("PUBLIC_BASE_URL", base.as_str()),
        ("BASIQ_WEBHOOK_SECRET", secret),
    ];
    if let Some(point) = crash_at {
        env.push(("BASIQ_BFF_CRASH_AT", point));
    }
    app.start_bff_on(port, &env).await
}

/// An app whose in-process server has stopped (the real binary does the work), with alice
/// connected and every event so far processed; the binary's port and its webhook secret.
async fn binary_setup() -> (TestApp, u16, String) {
    let mut app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let port = free_port();
    let secret = subscribe(&app, &format!("http://127.0.0.1:{port}/webhooks/basiq")).await;
    app.stop_server();
    // What happened so far is processed, so that a crash point is reached only by what the
    // test does next.
    let replay = app
        .run_bff(&["admin", "replay-events", "--since", "1h"], &[])
        .await;
    assert_eq!(replay.code, Some(0), "{replay:?}");
    (app, port, secret)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_crash_while_acting_on_a_revocation_loses_nothing_the_restart_erases_the_data() {
    let (app, port, secret) = binary_setup().await;
    let mut crashing = bff(&app, port, &secret, Some("event.acted")).await;
    let basiq_user = app.basiq_user_id_in_db("alice").await;
    app.sim_post(
        &format!("/__sim/users/{basiq_user}/consents/revoke"),
        json!({}),
    )
    .await;
    assert!(
        crashing.crashed_within(Duration::from_secs(15)).await,
        "the webhook's work reached the crash point"
    );
    // Nothing of it happened: not the erasure, not its record.
    assert_eq!(
        count(
            &app,
            "select count(*) from processed_events where event_type = 'consent.revoked'"
        )
        .await,
        0
    );
    assert!(
        count(
            &app,
            "select count(*) from jobs where app_user_id = 'alice'"
        )
        .await
            > 0
    );
    // Basiq got its 204 and will not redeliver: the restart's recovery finds the event.
    let restarted = bff(&app, port, &secret, None).await;
    app.eventually(
        "the revocation is acted on after the restart",
        |pool| async move {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from processed_events where event_type = 'consent.revoked'",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
                == 1
        },
    )
    .await;
    assert_eq!(
        count(
            &app,
            "select count(*) from jobs where app_user_id = 'alice'"
        )
        .await,
        0,
        "erased"
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from events where app_user_id = 'alice' and event_type = 'consent.updated'"
        )
        .await,
        1,
        "told once"
    );
    restarted.stop().await;
}

#[tokio::test]
async fn a_crash_while_acting_on_new_transactions_loses_nothing_the_copy_learns_them() {
    let (app, port, secret) = binary_setup().await;
    let first = bff(&app, port, &secret, None).await;
    // The app's copy, synced from the binary.
    let mut copy = Copy::default();
    copy.sync_at(&app, &first.base, "alice").await;
    first.stop().await;
    let processed =
        "select count(*) from processed_events where event_type = 'transactions.updated'";
    let before = count(&app, processed).await;
    let mut crashing = bff(&app, port, &secret, Some("event.acted")).await;
    let basiq_user = app.basiq_user_id_in_db("alice").await;
    app.sim_post(
        &format!("/__sim/users/{basiq_user}/transactions"),
        json!({"add": [{"count": 2, "description": "AFTER THE CRASH"}]}),
    )
    .await;
    assert!(crashing.crashed_within(Duration::from_secs(15)).await);
    assert_eq!(
        count(&app, processed).await,
        before,
        "not recorded as processed"
    );
    let restarted = bff(&app, port, &secret, None).await;
    let mut added = Vec::new();
    for _ in 0..100 {
        added.extend(copy.sync_at(&app, &restarted.base, "alice").await.added);
        if added.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(added.len(), 2, "the copy learnt the two new transactions");
    restarted.stop().await;
}

#[tokio::test]
async fn a_crash_after_a_job_ends_before_its_news_is_stored_loses_nothing() {
    let mut setup = crate::helpers::Setup::default();
    // Slow enough that the job still runs when the in-process server stops.
    setup.sim.job_step = Duration::from_millis(700);
    let mut app = crate::helpers::spawn_app_with(setup).await;
    let jobs = app
        .start_connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    app.stop_server();
    // Its background work ends with it; what Basiq's events said so far is processed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let replay = app
        .run_bff(&["admin", "replay-events", "--since", "1h"], &[])
        .await;
    assert_eq!(replay.code, Some(0), "{replay:?}");
    let told = "select count(*) from events where event_type = 'connection.updated'";
    let before = count(&app, told).await;
    // The watcher of the binary sees the job end, and dies before storing it.
    let mut crashing = app
        .start_bff(&[("BASIQ_BFF_CRASH_AT", "job.settled")])
        .await;
    assert!(crashing.crashed_within(Duration::from_secs(15)).await);
    assert_eq!(
        count(&app, told).await,
        before,
        "nothing of the job's end was stored"
    );
    // The crashed check's claim on the job lapses (a minute; here, now), and the restarted
    // watcher looks again.
    sqlx::query("update jobs set next_check_at = now()")
        .execute(&app.pool)
        .await
        .unwrap();
    let job_news = "select count(*) from events where event_type = 'job.updated'";
    let job_news_before = count(&app, job_news).await;
    let restarted = app.start_bff(&[]).await;
    let job = jobs[0].clone();
    app.eventually("the job's end is stored after the restart", |pool| {
        let job = job.clone();
        async move {
            sqlx::query_scalar::<_, String>("select status from jobs where job_id = $1")
                .bind(job)
                .fetch_one(&pool)
                .await
                .unwrap()
                == "succeeded"
        }
    })
    .await;
    // Told once, with the connection's news (the watcher's, and Basiq's own events').
    assert_eq!(count(&app, job_news).await, job_news_before + 1);
    assert!(count(&app, told).await > before);
    restarted.stop().await;
}

#[tokio::test]
async fn a_consent_revoked_while_a_refresh_reads_basiq_leaves_no_store_behind_and_sync_works_after()
{
    let mut setup = crate::helpers::Setup::default();
    // The refresher looks for requested refreshes every 100 ms.
    setup.options.sync_interval = Duration::from_millis(100);
    let app = crate::helpers::spawn_app_with(setup).await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let mut copy = Copy::default();
    copy.sync(&app, "alice").await;
    let consent = app.get("/v1/consents", "alice").await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Basiq takes 3 s to list transactions: a refresh is asked for (as a webhook would), and
    // the refresher is reading them when the consent goes, a second later.
    app.sim_post(
        "/__sim/faults",
        json!({"path": "/transactions", "method": "GET", "status": 200, "latencyMs": 3000}),
    )
    .await;
    sqlx::query("update sync_state set requested_at = clock_timestamp()")
        .execute(&app.pool)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let leased: bool = sqlx::query_scalar(
        "select refreshing_until > now() from sync_state where app_user_id = 'alice'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(leased, "the refresh is reading Basiq");
    let r = app
        .delete(&format!("/v1/consents/{consent}"), "alice")
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    // Let the refresh that was reading finish (and find the store gone).
    tokio::time::sleep(Duration::from_millis(3000)).await;
    app.sim_delete("/__sim/faults").await;
    for table in ["sync_records", "sync_changes", "sync_refreshes"] {
        assert_eq!(
            count(
                &app,
                &format!(
                    "select count(*) from {table} t
                      where not exists (select 1 from sync_state s
                                         where s.app_user_id = t.app_user_id)"
                )
            )
            .await,
            0,
            "{table}: nothing outlives its store"
        );
    }
    // The user connects again: sync works, and starts over.
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let old = copy.cursor.clone().unwrap();
    let old: String = form_urlencoded::byte_serialize(old.as_bytes()).collect();
    let a = app
        .get(&format!("/v1/transactions/sync?cursor={old}"), "alice")
        .await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert_eq!(a.body["code"], "cursor_expired");
    let mut fresh = Copy::default();
    fresh.sync(&app, "alice").await;
    assert!(!fresh.transactions.is_empty());
    let again = fresh.sync(&app, "alice").await;
    assert!(again.added.is_empty());
}

#[tokio::test]
async fn one_users_slow_first_syncs_do_not_starve_others_of_the_database() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    app.connect_bank("bob", "gavinBelson", "hooli2016").await;
    // Basiq takes 3 s to list transactions.
    app.sim_post(
        "/__sim/faults",
        json!({"path": "/transactions", "method": "GET", "status": 200, "latencyMs": 3000}),
    )
    .await;
    let before = app
        .sim_requests()
        .await
        .iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with("/transactions"))
        .count();
    // 25 first syncs of alice at once: more than the pool's 20 connections.
    let syncs = (0..25).map(|_| app.get("/v1/transactions/sync?limit=10", "alice"));
    let others = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let mut answers = Vec::new();
        for _ in 0..5 {
            answers.push(app.get("/v1/me", "bob").await.status.as_u16());
            answers.push(app.get_unauthenticated("/readyz").await.status.as_u16());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        answers
    };
    let (synced, others) = tokio::join!(futures_util::future::join_all(syncs), others);
    assert!(
        others.iter().all(|s| *s == 200),
        "bob and /readyz were answered while alice waited on Basiq: {others:?}"
    );
    assert!(synced.iter().all(|a| a.status == 200));
    let pages = app
        .sim_requests()
        .await
        .iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with("/transactions"))
        .count()
        - before;
    assert!(pages <= 3, "one refresh read Basiq ({pages} pages)");
}

#[tokio::test]
async fn an_old_cursor_after_erasure_expires() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let mut copy = Copy::default();
    copy.sync(&app, "alice").await;
    assert_eq!(app.delete("/v1/me", "alice").await.status, 204);
    let cursor: String = form_urlencoded::byte_serialize(copy.cursor.unwrap().as_bytes()).collect();
    let a = app
        .get(&format!("/v1/transactions/sync?cursor={cursor}"), "alice")
        .await;
    assert_eq!(a.status, 400, "{:?}", a.body);
    assert_eq!(a.body["code"], "cursor_expired");
    assert_eq!(a.problem_field(), Some("cursor"));
}

#[tokio::test]
async fn a_late_revocation_of_an_old_consent_erases_nothing_of_the_new_one() {
    // No webhooks: what Basiq says is learnt from its GET /events, later.
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let basiq_user = app.basiq_user_id("alice").await;
    let old = app.get("/v1/consents", "alice").await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The old consent is revoked at Basiq, and the user consents again before the BFF hears
    // of the revocation.
    app.basiq_delete(&format!("/users/{basiq_user}/consents/{old}"))
        .await;
    app.connect_bank("alice", "gavinBelson", "hooli2016").await;
    let mut copy = Copy::default();
    copy.sync(&app, "alice").await;
    let jobs_before = count(
        &app,
        "select count(*) from jobs where app_user_id = 'alice'",
    )
    .await;
    assert!(jobs_before > 0);
    // Now the old revocation is recovered.
    let replay = app
        .run_bff(&["admin", "replay-events", "--since", "1h"], &[])
        .await;
    assert_eq!(replay.code, Some(0), "{replay:?}");
    assert_eq!(
        count(
            &app,
            "select count(*) from processed_events where event_type = 'consent.revoked'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from jobs where app_user_id = 'alice'"
        )
        .await,
        jobs_before,
        "the current consent's jobs stay"
    );
    let again = copy.sync(&app, "alice").await;
    assert!(again.removed.is_empty(), "the copy was not rebuilt");
    assert_eq!(
        app.get("/v1/me", "alice").await.body["consent"]["status"],
        "active"
    );
}

#[tokio::test]
async fn an_erasure_is_delivered_to_the_backend_and_takes_the_users_deliveries_with_it() {
    let (backend, url) = Backend::start().await;
    let app = spawn_app_with(with_backend(&url)).await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let delivered =
        "select count(*) from outbox where app_user_id = 'alice' and delivered_at is not null";
    app.eventually("alice's deliveries so far are made", |pool| async move {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from outbox where app_user_id = 'alice' and delivered_at is null",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
            == 0
    })
    .await;
    assert!(count(&app, delivered).await > 0);
    // The backend goes down; what happens meanwhile waits in the outbox …
    backend.set_up(false);
    let connection = app.get("/v1/connections", "alice").await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/v1/connections/{connection}/refresh"),
        "alice",
        json!({}),
    )
    .await;
    // … when the user withdraws their consent: what waited is dropped (it may carry what the
    // user withdrew), and the revocation itself is delivered.
    let consent = app.get("/v1/consents", "alice").await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let seen_before = backend.received().len();
    assert_eq!(
        app.delete(&format!("/v1/consents/{consent}"), "alice")
            .await
            .status,
        204
    );
    backend.set_up(true);
    backend
        .wait_for("the revocation", |got| {
            got.iter()
                .any(|(_, body)| body.contains("\"consent.updated\"") && body.contains("revoked"))
        })
        .await;
    let after: Vec<String> = backend.received()[seen_before..]
        .iter()
        .map(|(_, body)| {
            serde_json::from_str::<Value>(body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(after, ["consent.updated"], "only the revocation: {after:?}");
    // Erasure takes every delivery of the user with it, delivered or not, and delivers itself.
    assert_eq!(app.delete("/v1/me", "alice").await.status, 204);
    backend
        .wait_for("the erasure", |got| {
            got.iter().any(|(_, body)| body.contains("\"user.erased\""))
        })
        .await;
    let rows: Vec<String> = sqlx::query_scalar(
        "select e.event_type from outbox o join events e on e.id = o.event_id
          where o.app_user_id = 'alice'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(rows, ["user.erased"]);
}

/// A small deterministic generator, seeded per run (printed, and taken from `CRASH_SEED` to
/// replay a run).
struct Dice(u64);

impl Dice {
    fn new() -> Self {
        let seed = std::env::var("CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        eprintln!("CRASH_SEED={seed}");
        Self(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % n
    }
}

#[tokio::test]
async fn killed_at_random_moments_and_restarted_nothing_is_lost_done_twice_or_kept_after_erasure() {
    let mut dice = Dice::new();
    let (backend, backend_url) = Backend::start().await;
    let mut app = spawn_app_with(with_backend(&backend_url)).await;
    let users = ["alice", "bob", "carol"];
    for user in users {
        app.connect_bank(user, "Wentworth-Smith", "whislter").await;
    }
    let port = free_port();
    let secret = subscribe(&app, &format!("http://127.0.0.1:{port}/webhooks/basiq")).await;
    app.stop_server();
    let replay = app
        .run_bff(&["admin", "replay-events", "--since", "1h"], &[])
        .await;
    assert_eq!(replay.code, Some(0), "{replay:?}");
    let mut basiq_users = Vec::new();
    for user in users {
        basiq_users.push(app.basiq_user_id_in_db(user).await);
    }
    let env = |base: &str| {
        vec![
            ("PUBLIC_BASE_URL", base.to_owned()),
            ("BASIQ_WEBHOOK_SECRET", secret.clone()),
        ]
    };
    let base = format!("http://127.0.0.1:{port}");
    let owned = env(&base);
    let overrides: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut copies: Vec<Copy> = users.iter().map(|_| Copy::default()).collect();
    let revoked = 2; // carol
    for round in 0..6 {
        let bff = app.start_bff_on(port, &overrides).await;
        let kill_after = Duration::from_millis(100 + dice.below(1400));
        if round == 2 {
            // Carol withdraws her consent at Basiq: its webhook reaches this replica, which may
            // be killed while acting on it.
            app.sim_post(
                &format!("/__sim/users/{}/consents/revoke", basiq_users[revoked]),
                json!({}),
            )
            .await;
        }
        // What happens while it runs: Basiq's data changes (its webhooks), refreshes and
        // syncs.
        let activity = async {
            for step in 0..4 {
                let who = dice.below(2) as usize;
                let body = match dice.below(3) {
                    0 => json!({"add": [{"count": 1 + dice.below(3)}]}),
                    1 => {
                        json!({"add": [{"count": 1, "description": format!("ROUND {round} STEP {step}")}]})
                    }
                    _ => json!({"add": [{"count": 2, "amount": "-9.99"}]}),
                };
                app.sim_post(
                    &format!("/__sim/users/{}/transactions", basiq_users[who]),
                    body,
                )
                .await;
                if dice.below(3) == 0 {
                    // The user refreshes their banks (a job the watcher follows).
                    let _ = app
                        .http
                        .post(format!("{}/v1/connections/refresh", bff.base))
                        .bearer_auth(crate::helpers::jwt_for(users[who]))
                        .send()
                        .await;
                }
                // A sync may be cut short by the kill: an app simply syncs again.
                let _ = tokio::time::timeout(
                    Duration::from_millis(400),
                    copies[who].sync_at(&app, &bff.base, users[who]),
                )
                .await;
            }
        };
        let _ = tokio::time::timeout(kill_after, activity).await;
        bff.kill();
    }
    // The last start: nothing killed it. Claims a killed replica held (a minute's lease on
    // jobs and deliveries) lapse; here, at once.
    sqlx::query("update outbox set next_attempt_at = now() where delivered_at is null")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("update jobs set next_check_at = now() where next_check_at is not null")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("update sync_state set refreshing_until = null")
        .execute(&app.pool)
        .await
        .unwrap();
    let bff = app.start_bff_on(port, &overrides).await;

    // Every event Basiq has for our users is processed, once.
    let events = app.basiq_get("/events").await;
    let ours: HashSet<String> = basiq_users.iter().cloned().collect();
    let wanted: Vec<String> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["userId"].as_str().is_some_and(|u| ours.contains(u)))
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    app.eventually("every event is processed", |pool| {
        let wanted = wanted.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from processed_events where event_id = any($1)",
            )
            .bind(&wanted)
            .fetch_one(&pool)
            .await
            .unwrap()
                == wanted.len() as i64
        }
    })
    .await;
    // Carol's data is gone: what the BFF kept of her, and her sealed contact details; the
    // revocation itself was told (and nothing before it is left to tell).
    for table in [
        "jobs",
        "sync_state",
        "sync_changes",
        "connections",
        "refreshes",
    ] {
        assert_eq!(
            count(
                &app,
                &format!("select count(*) from {table} where app_user_id = 'carol'")
            )
            .await,
            0,
            "{table}"
        );
    }
    let carol: (Option<Vec<u8>>, Option<Vec<u8>>) = sqlx::query_as(
        "select email_sealed, mobile_sealed from app_users where app_user_id = 'carol'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(carol, (None, None), "no contact details kept");
    let carol_events: Vec<String> =
        sqlx::query_scalar("select event_type from events where app_user_id = 'carol' order by id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        carol_events,
        ["consent.updated"],
        "only the revocation remains, told once"
    );
    // Every delivery is made.
    app.eventually("every delivery is made", |pool| async move {
        sqlx::query_scalar::<_, i64>("select count(*) from outbox where delivered_at is null")
            .fetch_one(&pool)
            .await
            .unwrap()
            == 0
    })
    .await;
    let outbox: Vec<i64> = sqlx::query_scalar("select event_id from outbox")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let got: HashSet<String> = backend
        .received()
        .iter()
        .map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned())
        .collect();
    for id in outbox {
        assert!(got.contains(&format!("evt_{id}")), "delivery {id} was made");
    }
    // Every copy that still syncs holds exactly what Basiq lists.
    for who in 0..2 {
        let mut settled = false;
        for _ in 0..100 {
            copies[who].sync_at(&app, &bff.base, users[who]).await;
            let basiq = crate::sync::basiq_transactions(&app, &basiq_users[who]).await;
            if copies[who].transactions.len() == basiq.len()
                && basiq
                    .keys()
                    .all(|k| copies[who].transactions.contains_key(k))
            {
                settled = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(settled, "{}'s copy equals Basiq's list", users[who]);
    }
    bff.stop().await;
}

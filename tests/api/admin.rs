//! `basiq-bff admin …`, through the real binary: exit codes, help, and what each command does
//! to the database and to Basiq.

use std::collections::{BTreeSet, HashMap};

use base64::{Engine, engine::general_purpose::STANDARD};
use basiq_bff::{
    crypto::Sealer,
    db::sealed::{self, SEALED},
};
use secrecy::SecretBox;
use serde_json::{Value, json};

use crate::helpers::{Setup, TestApp, run_bff, spawn_app, spawn_app_with};

/// The tests' usual data key (helpers.rs).
const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";

fn sealer(keys: &[&str]) -> Sealer {
    let keys: Vec<SecretBox<[u8; 32]>> = keys
        .iter()
        .map(|k| {
            let bytes: [u8; 32] = STANDARD.decode(k).unwrap().try_into().unwrap();
            SecretBox::new(Box::new(bytes))
        })
        .collect();
    Sealer::new(&keys)
}

/// How many stored sealed values open with `sealer`, and how many there are, per column.
async fn opening(app: &TestApp, sealer: &Sealer) -> HashMap<String, (usize, usize)> {
    let mut counts = HashMap::new();
    for column in SEALED {
        let rows = sealed::batch(&app.pool, column, None, 10_000)
            .await
            .unwrap();
        let opened = rows
            .iter()
            .filter(|r| {
                sealer
                    .open(&r.sealed, &(column.associated)(&r.id, &r.owner))
                    .is_ok()
            })
            .count();
        counts.insert(column.name(), (opened, rows.len()));
    }
    counts
}

/// Users with sealed data under key A: a connected user (sealed email, server token, events and
/// their deliveries) and three more who only gave an email.
async fn app_with_sealed_data() -> TestApp {
    let mut app = spawn_app_with(Setup {
        env: vec![
            // Deliveries fail (nothing listens) and stay queued, sealed.
            ("APP_WEBHOOK_URL", "http://127.0.0.1:9/hooks".to_owned()),
            (
                "APP_WEBHOOK_SECRET",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
            ),
        ],
        ..Setup::default()
    })
    .await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    // A first sync fills alice's sync store.
    let a = app.get("/v1/transactions/sync?limit=1", "alice").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    for sub in ["u1", "u2", "u3"] {
        let a = app
            .patch(
                "/v1/me",
                sub,
                json!({"email": format!("stored-{sub}@example.org")}),
            )
            .await;
        assert_eq!(a.status, 204, "{:?}", a.body);
    }
    app.stop_server();
    app
}

#[tokio::test]
async fn every_sealed_column_of_the_schema_is_in_the_one_list_rotate_key_reads() {
    let app = spawn_app().await;
    let in_schema: BTreeSet<String> = sqlx::query_scalar(
        "select table_name::text || '.' || column_name::text from information_schema.columns
          where table_schema = current_schema() and column_name like '%\\_sealed'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    let listed: BTreeSet<String> = SEALED.iter().map(|c| c.name()).collect();
    assert_eq!(in_schema, listed);
    // Every entry's queries run against the real schema.
    for column in SEALED {
        sealed::count(&app.pool, column).await.unwrap();
        sealed::batch(&app.pool, column, Some("0"), 1)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn rotate_key_interrupted_half_way_then_rerun_leaves_every_value_opening_with_the_new_key_alone()
 {
    let app = app_with_sealed_data().await;
    let old = opening(&app, &sealer(&[KEY_A])).await;
    for column in ["app_users.email_sealed", "server_token.token_sealed"] {
        assert!(old[column].1 > 0, "{column} holds values: {old:?}");
    }
    for column in [
        "events.payload_sealed",
        "outbox.body_sealed",
        "sync_changes.body_sealed",
    ] {
        assert!(old[column].1 > 2, "{column} holds values: {old:?}");
    }
    assert!(old.values().all(|(opened, all)| opened == all), "{old:?}");
    let total: usize = old.values().map(|(_, all)| all).sum();
    let rotated = [("DATA_ENCRYPTION_KEY", &*format!("{KEY_B},{KEY_A}"))];

    let first = app
        .run_bff(
            &[
                "admin",
                "rotate-key",
                "--batch-size",
                "2",
                "--max-batches",
                "3",
            ],
            &rotated,
        )
        .await;
    assert_eq!(first.code, Some(0), "{first:?}");
    assert!(
        first.stdout.contains("stopped after 3 batches"),
        "{first:?}"
    );
    let half = opening(&app, &sealer(&[KEY_B])).await;
    let under_b: usize = half.values().map(|(opened, _)| opened).sum();
    assert!(under_b > 0 && under_b < total, "{under_b} of {total}");

    let second = app
        .run_bff(&["admin", "rotate-key", "--batch-size", "2"], &rotated)
        .await;
    assert_eq!(second.code, Some(0), "{second:?}");
    assert!(
        second
            .stdout
            .contains("app_users.email_sealed: 4/4 checked"),
        "{second:?}"
    );
    assert!(
        second
            .stdout
            .contains("every sealed value is under the current key"),
        "{second:?}"
    );
    let new = opening(&app, &sealer(&[KEY_B])).await;
    assert_eq!(new, old, "every value opens with B alone, none lost");

    // Everything is current: a third run re-seals nothing.
    let third = app.run_bff(&["admin", "rotate-key"], &rotated).await;
    assert_eq!(third.code, Some(0), "{third:?}");
    for column in SEALED {
        let (_, all) = new[&column.name()];
        let line = format!("{}: done, 0/{all} re-sealed, {all} already", column.name());
        assert!(third.stdout.contains(&line), "{line} in {third:?}");
    }

    // The service with the new key alone reads what was sealed under the old one: the email
    // kept before the Basiq user existed is opened to create it.
    let replica = app
        .spawn_replica_with(&[("DATA_ENCRYPTION_KEY", KEY_B)])
        .await;
    let a = app
        .http
        .post(format!("{}/v1/consent", replica.base))
        .bearer_auth(crate::helpers::jwt_for("u1"))
        .json(&json!({"returnTo": crate::helpers::RETURN_TO}))
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), 200);
    let basiq_user: Option<String> =
        sqlx::query_scalar("select basiq_user_id from app_users where app_user_id = 'u1'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let user = app
        .basiq_get(&format!("/users/{}", basiq_user.unwrap()))
        .await;
    assert_eq!(user["email"], "stored-u1@example.org", "{user}");
    // Alice's stored events, replayed to a stream from the start (one that does not open
    // would be skipped).
    let mut stream = app
        .http
        .get(format!("{}/v1/events", replica.base))
        .bearer_auth(crate::helpers::jwt_for("alice"))
        .header("last-event-id", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let (events, _) = new["events.payload_sealed"];
    let mut text = String::new();
    let replayed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while text.lines().filter(|l| l.starts_with("data:")).count() < events {
            let chunk = stream
                .chunk()
                .await
                .unwrap()
                .expect("the stream stays open");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(replayed.is_ok(), "{events} events in: {text}");
}

#[tokio::test]
async fn rotate_key_reports_values_no_configured_key_opens_and_exits_non_zero() {
    let app = app_with_sealed_data().await;
    let run = app
        .run_bff(&["admin", "rotate-key"], &[("DATA_ENCRYPTION_KEY", KEY_B)])
        .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains("cannot be opened with any key of DATA_ENCRYPTION_KEY"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains(
            "app_users.email_sealed row u1: the value was sealed with a key that is not configured"
        ),
        "{run:?}"
    );
    assert!(!run.stderr.contains("example.org") && !run.stdout.contains("example.org"));
    // Left as they were: the old key still opens everything.
    let still = opening(&app, &sealer(&[KEY_A])).await;
    assert!(
        still.values().all(|(opened, all)| opened == all),
        "{still:?}"
    );
}

#[tokio::test]
async fn replay_events_processes_a_revocation_missed_while_no_bff_ran_and_a_second_run_nothing() {
    let mut app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let jobs = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, i64>("select count(*) from jobs where app_user_id = 'alice'")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert!(jobs(app.pool.clone()).await > 0);
    let user = app.basiq_user_id("alice").await;
    app.stop_server();
    app.sim_post(&format!("/__sim/users/{user}/consents/revoke"), Value::Null)
        .await;

    let run = app
        .run_bff(&["admin", "replay-events", "--since", "1h"], &[])
        .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("events of the last 1h:"), "{run:?}");
    assert!(!run.stdout.contains(" 0 processed now"), "{run:?}");
    assert_eq!(
        jobs(app.pool.clone()).await,
        0,
        "the revocation erased the data"
    );
    let source: String = sqlx::query_scalar(
        "select source from processed_events where event_type = 'consent.revoked'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(source, "replayed");

    let again = app
        .run_bff(&["admin", "replay-events", "--since", "1h"], &[])
        .await;
    assert_eq!(again.code, Some(0), "{again:?}");
    assert!(again.stdout.contains(" 0 processed now"), "{again:?}");
}

#[tokio::test]
async fn jobs_stuck_lists_unsettled_old_jobs_by_id_and_state_only() {
    let mut app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    app.stop_server();
    sqlx::query(
        "insert into jobs (job_id, app_user_id, origin, status, created_at, next_check_at)
         values ('job-stuck', 'alice', 'refresh', 'in_progress', now() - interval '1 hour',
                 now() + interval '5 minutes'),
                ('job-young', 'alice', 'refresh', 'pending', now(), now())",
    )
    .execute(&app.pool)
    .await
    .unwrap();

    let run = app.run_bff(&["admin", "jobs", "--stuck"], &[]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout
            .starts_with("stuck jobs (unsettled and older than 15m): 1,"),
        "{run:?}"
    );
    let line = run.stdout.lines().nth(1).unwrap();
    assert!(line.starts_with("job-stuck  user=alice  origin=refresh  status=in_progress"));
    assert!(line.contains("age=1h"), "{line}");
    assert!(!run.stdout.contains("example.com"));

    let older = app
        .run_bff(&["admin", "jobs", "--stuck", "--older-than", "2h"], &[])
        .await;
    assert_eq!(older.code, Some(0), "{older:?}");
    assert!(older.stdout.starts_with("no stuck jobs"), "{older:?}");

    let bad = app
        .run_bff(&["admin", "jobs", "--stuck", "--older-than", "soon"], &[])
        .await;
    assert_eq!(bad.code, Some(2), "{bad:?}");
}

#[tokio::test]
async fn user_shows_ids_and_states_and_never_personal_data() {
    let app = spawn_app().await;
    let job_ids = app
        .connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let a = app
        .patch("/v1/me", "alice", json!({"mobile": "+61400000000"}))
        .await;
    assert_eq!(a.status, 204);
    let basiq_user = app.basiq_user_id("alice").await;
    let connections = app
        .basiq_get(&format!("/users/{basiq_user}/connections"))
        .await;
    let connection = connections["data"][0]["id"].as_str().unwrap().to_owned();

    let run = app.run_bff(&["admin", "user", "alice"], &[]).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let out = &run.stdout;
    assert!(out.starts_with("user alice\n"), "{out}");
    assert!(out.contains(&format!("basiq user: {basiq_user}")), "{out}");
    assert!(
        out.contains(&format!("{connection}  status=active  institution=AU00000")),
        "{out}"
    );
    assert!(out.contains("consents: 1\n"), "{out}");
    for job in &job_ids {
        assert!(
            out.contains(&format!("{job}  origin=consent  status=")),
            "{out}"
        );
    }
    assert!(out.contains("stored events: "), "{out}");
    assert!(out.contains("sync store: none"), "{out}");
    for personal in ["alice@example.com", "+61400000000", "Wentworth", "whislter"] {
        assert!(!out.contains(personal), "{personal} in {out}");
    }

    let unknown = app.run_bff(&["admin", "user", "nobody"], &[]).await;
    assert_eq!(unknown.code, Some(1), "{unknown:?}");
    assert!(
        unknown.stderr.contains("no user nobody is stored"),
        "{unknown:?}"
    );
    assert!(unknown.stdout.is_empty());
}

#[tokio::test]
async fn erase_needs_yes_then_deletes_the_basiq_user_and_every_row_of_the_user() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let basiq_user = app.basiq_user_id("alice").await;
    let rows = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, i64>(
            "select (select count(*) from app_users where app_user_id = 'alice')
                  + (select count(*) from jobs where app_user_id = 'alice')
                  + (select count(*) from events
                      where app_user_id = 'alice' and event_type <> 'user.erased')",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert!(rows(app.pool.clone()).await > 2);

    let refused = app.run_bff(&["admin", "erase", "alice"], &[]).await;
    assert_eq!(refused.code, Some(2), "{refused:?}");
    assert!(refused.stderr.contains("--yes"), "{refused:?}");
    assert!(
        rows(app.pool.clone()).await > 2,
        "nothing erased without --yes"
    );

    let run = app
        .run_bff(&["admin", "erase", "alice", "--yes"], &[])
        .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "erased user alice: Basiq user {basiq_user} deleted"
        )),
        "{run:?}"
    );
    assert_eq!(rows(app.pool.clone()).await, 0);
    let erased: String =
        sqlx::query_scalar("select event_type from events where app_user_id = 'alice'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(erased, "user.erased", "the user's streams learn it");
    let gone = app.basiq_get(&format!("/users/{basiq_user}")).await;
    assert_eq!(gone["type"], "list", "{gone}");

    let again = app
        .run_bff(&["admin", "erase", "alice", "--yes"], &[])
        .await;
    assert_eq!(again.code, Some(1), "{again:?}");
    assert!(
        again.stderr.contains("no user alice is stored"),
        "{again:?}"
    );
}

#[tokio::test]
async fn every_admin_command_has_help_and_bad_input_exits_2_before_any_configuration_is_read() {
    // No configuration at all: usage is checked first.
    let none = HashMap::new;
    let help = run_bff(&["admin", "--help"], none()).await;
    assert_eq!(help.code, Some(0), "{help:?}");
    for command in ["rotate-key", "replay-events", "jobs", "user", "erase"] {
        assert!(help.stdout.contains(command), "{command} in {help:?}");
        let own = run_bff(&["admin", command, "--help"], none()).await;
        assert_eq!(own.code, Some(0), "{own:?}");
        assert!(own.stdout.contains("Usage: basiq-bff admin"), "{own:?}");
    }
    for (args, says) in [
        (&["admin", "replay-events", "--since", "8d"][..], "7 days"),
        (&["admin", "replay-events"][..], "--since"),
        (&["admin", "jobs"][..], "--stuck"),
        (&["admin", "user"][..], "<SUB>"),
        (&["admin", "erase", "alice"][..], "--yes"),
        (&["admin", "unknown"][..], "unrecognized subcommand"),
    ] {
        let run = run_bff(args, none()).await;
        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
        assert!(run.stderr.contains(says), "{args:?}: {run:?}");
    }
    // A good command without configuration names the missing variable.
    let run = run_bff(&["admin", "jobs", "--stuck"], none()).await;
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("DATABASE_URL"), "{run:?}");
}

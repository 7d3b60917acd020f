//! Sync (SPEC.md §8): the caller's transactions from the BFF's copy, as added / modified /
//! removed since a cursor; pending transactions matched to their posted copies; the store
//! refreshed when Basiq says the data changed, one refresh at a time across replicas; erased
//! with the user's other data.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use crate::at_rest::dump;
use crate::helpers::{Setup, TestApp, jwt_for, spawn_app, spawn_app_with};

/// What an app keeps: its copy of the transactions, by id, and where it is.
#[derive(Default)]
pub struct Copy {
    pub transactions: HashMap<String, Value>,
    pub cursor: Option<String>,
    /// Every id ever reported as added, to catch one reported twice.
    added_ever: Vec<String>,
}

/// One page's changes.
#[derive(Debug, Default)]
pub struct Changes {
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub removed: Vec<String>,
}

impl Copy {
    /// Syncs one page and applies it, as the README tells apps to; the page's changes.
    pub async fn page(&mut self, app: &TestApp, sub: &str, limit: u32) -> (Changes, bool) {
        self.page_at(app, &app.base, sub, limit).await
    }

    /// [`Self::page`] from the server at `base`.
    pub async fn page_at(
        &mut self,
        app: &TestApp,
        base: &str,
        sub: &str,
        limit: u32,
    ) -> (Changes, bool) {
        let mut path = format!("/v1/transactions/sync?limit={limit}");
        if let Some(c) = &self.cursor {
            path.push_str(&format!("&cursor={}", urlencode(c)));
        }
        let a = app.get_at(base, &path, sub).await;
        assert_eq!(a.status, 200, "{:?}", a.body);
        let mut changes = Changes::default();
        for id in a.body["removed"].as_array().unwrap() {
            let id = id.as_str().unwrap().to_owned();
            assert!(
                self.transactions.remove(&id).is_some(),
                "{id} is removed but the copy never had it"
            );
            changes.removed.push(id);
        }
        for (part, list) in [
            ("added", &mut changes.added),
            ("modified", &mut changes.modified),
        ] {
            for t in a.body[part].as_array().unwrap() {
                let id = t["id"].as_str().unwrap().to_owned();
                if part == "added" {
                    assert!(!self.transactions.contains_key(&id), "{id} added twice");
                    self.added_ever.push(id.clone());
                } else {
                    assert!(
                        self.transactions.contains_key(&id),
                        "{id} modified but never added"
                    );
                }
                self.transactions.insert(id.clone(), t.clone());
                list.push(id);
            }
        }
        self.cursor = Some(a.body["nextCursor"].as_str().unwrap().to_owned());
        (changes, a.body["hasMore"].as_bool().unwrap())
    }

    /// Syncs until nothing more waits; every page's changes together.
    pub async fn sync(&mut self, app: &TestApp, sub: &str) -> Changes {
        self.sync_at(app, &app.base, sub).await
    }

    /// [`Self::sync`] from the server at `base`.
    pub async fn sync_at(&mut self, app: &TestApp, base: &str, sub: &str) -> Changes {
        let mut all = Changes::default();
        loop {
            let (c, more) = self.page_at(app, base, sub, 500).await;
            all.added.extend(c.added);
            all.modified.extend(c.modified);
            all.removed.extend(c.removed);
            if !more {
                return all;
            }
        }
    }
}

/// The two hold the same ids (naming the first few that differ).
fn same_ids(copy: &HashMap<String, Value>, basiq: &HashMap<String, Value>) {
    let extra: Vec<&String> = copy
        .keys()
        .filter(|k| !basiq.contains_key(*k))
        .take(5)
        .collect();
    let missing: Vec<&String> = basiq
        .keys()
        .filter(|k| !copy.contains_key(*k))
        .take(5)
        .collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "the copy has {} of Basiq's {}; not at Basiq: {extra:?}; missing: {missing:?}",
        copy.len(),
        basiq.len()
    );
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Every transaction Basiq itself lists for the user, by id.
pub async fn basiq_transactions(app: &TestApp, basiq_user: &str) -> HashMap<String, Value> {
    let mut out = HashMap::new();
    let mut path = format!("/users/{basiq_user}/transactions?limit=500");
    loop {
        let page = app.basiq_get(&path).await;
        for t in page["data"].as_array().unwrap() {
            out.insert(t["id"].as_str().unwrap().to_owned(), t.clone());
        }
        match page["links"]["next"].as_str() {
            Some(next) => {
                let url = url::Url::parse(next).unwrap();
                path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
            }
            None => return out,
        }
    }
}

/// Changes the user's data at the simulator, which then sends `transactions.updated`.
async fn change(app: &TestApp, basiq_user: &str, body: Value) -> Value {
    let r = app
        .http
        .post(format!(
            "{}/__sim/users/{basiq_user}/transactions",
            app.sim.base_url()
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Refreshes the store has logged for the user (a refresh that changed nothing logs none).
async fn refreshes(app: &TestApp, sub: &str) -> Vec<(i32, i32, i32)> {
    sqlx::query_as(
        "select added, modified, removed from sync_refreshes where app_user_id = $1 order by id",
    )
    .bind(sub)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

/// Waits until the store has logged `n` refreshes.
async fn refreshed(app: &TestApp, sub: &str, n: usize) {
    let sub = sub.to_owned();
    app.eventually(&format!("{n} sync refreshes"), move |pool| {
        let sub = sub.clone();
        async move {
            let count: i64 =
                sqlx::query_scalar("select count(*) from sync_refreshes where app_user_id = $1")
                    .bind(&sub)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            count as usize >= n
        }
    })
    .await;
}

async fn transaction_calls(app: &TestApp) -> usize {
    app.sim_requests()
        .await
        .iter()
        .filter(|r| {
            r["method"] == "GET"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/transactions"))
        })
        .count()
}

async fn app_with_webhooks() -> TestApp {
    spawn_app_with(Setup {
        webhooks: true,
        ..Setup::default()
    })
    .await
}

/// Connects the user's bank and waits until the job watcher has seen the job succeed (and,
/// the user having no sync store yet, published `data.updated`), so no refresh it asks for
/// comes later.
async fn connected(app: &TestApp, sub: &str) -> String {
    app.connect_bank(sub, "Wentworth-Smith", "whislter").await;
    let who = sub.to_owned();
    app.eventually("the watcher saw the job succeed", move |pool| {
        let who = who.clone();
        async move {
            let n: i64 = sqlx::query_scalar(
                "select count(*) from events where app_user_id = $1 and event_type = 'data.updated'",
            )
            .bind(&who)
            .fetch_one(&pool)
            .await
            .unwrap();
            n >= 1
        }
    })
    .await;
    app.basiq_user_id(sub).await
}

/// A connected user with a first sync done: their Basiq user, their copy.
async fn synced(app: &TestApp, sub: &str) -> (String, Copy) {
    let basiq_user = connected(app, sub).await;
    let mut copy = Copy::default();
    copy.sync(app, sub).await;
    (basiq_user, copy)
}

fn some_pending(copy: &Copy) -> String {
    copy.transactions
        .values()
        .find(|t| t["status"] == "pending")
        .expect("the simulated bank has pending transactions")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_first_sync_gives_every_transaction_once_and_a_second_costs_basiq_nothing() {
    let app = spawn_app().await;
    let (basiq_user, mut copy) = synced(&app, "alice").await;
    let basiq = basiq_transactions(&app, &basiq_user).await;
    assert!(basiq.len() > 500, "more than one page: {}", basiq.len());
    same_ids(&copy.transactions, &basiq);
    assert_eq!(copy.added_ever.len(), basiq.len(), "nothing added twice");
    // Each is as GET /v1/transactions/{id} shows it.
    let id = copy.transactions.keys().next().unwrap().clone();
    let one = app.get(&format!("/v1/transactions/{id}"), "alice").await;
    assert_eq!(one.body, copy.transactions[&id]);

    let calls = transaction_calls(&app).await;
    let again = copy.sync(&app, "alice").await;
    assert!(again.added.is_empty() && again.modified.is_empty() && again.removed.is_empty());
    assert_eq!(transaction_calls(&app).await, calls, "no Basiq call");
}

#[tokio::test]
async fn a_user_without_a_bank_gets_an_empty_sync_whose_cursor_stays_good() {
    let app = spawn_app().await;
    let a = app.get("/v1/transactions/sync", "nobody").await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!(a.status, 200);
    assert_eq!(a.body["added"], json!([]));
    assert_eq!(a.body["hasMore"], false);
    let cursor = a.body["nextCursor"].as_str().unwrap().to_owned();
    app.connect_bank("nobody", "Wentworth-Smith", "whislter")
        .await;
    let later = app
        .get(
            &format!("/v1/transactions/sync?cursor={}", urlencode(&cursor)),
            "nobody",
        )
        .await;
    assert_eq!(later.status, 200, "{:?}", later.body);
    assert!(!later.body["added"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_pending_transaction_that_posts_is_removed_once_and_its_posted_copy_added_once() {
    let app = app_with_webhooks().await;
    let (basiq_user, mut copy) = synced(&app, "alice").await;
    let pending = some_pending(&copy);
    let done = change(&app, &basiq_user, json!({"post": [{"id": pending}]})).await;
    let posted = done["posted"][0]["postedId"].as_str().unwrap().to_owned();
    refreshed(&app, "alice", 2).await;

    let changes = copy.sync(&app, "alice").await;
    assert_eq!(changes.removed, vec![pending.clone()]);
    assert_eq!(changes.added, vec![posted.clone()]);
    assert!(changes.modified.is_empty());
    assert_eq!(copy.transactions[&posted]["status"], "posted");
    let again = copy.sync(&app, "alice").await;
    assert!(
        again.added.is_empty() && again.removed.is_empty(),
        "{again:?}"
    );
    // The app was told to sync, after the store had the change.
    let told: i64 = sqlx::query_scalar(
        "select count(*) from events where app_user_id = 'alice' and event_type = 'data.updated'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(told >= 1);
}

#[tokio::test]
async fn a_pending_one_basiq_still_lists_beside_its_posted_copy_is_shown_once() {
    let app = app_with_webhooks().await;
    let (basiq_user, mut copy) = synced(&app, "alice").await;
    let pending = some_pending(&copy);
    let done = change(
        &app,
        &basiq_user,
        json!({"post": [{"id": pending, "keepPending": true}]}),
    )
    .await;
    let posted = done["posted"][0]["postedId"].as_str().unwrap().to_owned();
    refreshed(&app, "alice", 2).await;
    let changes = copy.sync(&app, "alice").await;
    assert_eq!(changes.removed, vec![pending.clone()]);
    assert_eq!(changes.added, vec![posted.clone()]);

    // Later refreshes, with Basiq still listing it, do not bring it back.
    let other = copy
        .transactions
        .keys()
        .find(|id| **id != posted)
        .unwrap()
        .clone();
    change(
        &app,
        &basiq_user,
        json!({"amend": [{"id": other, "description": "AMENDED BY THE BANK"}]}),
    )
    .await;
    refreshed(&app, "alice", 3).await;
    let changes = copy.sync(&app, "alice").await;
    assert_eq!(changes.modified, vec![other.clone()]);
    assert!(changes.added.is_empty() && changes.removed.is_empty());
    assert_eq!(
        copy.transactions[&other]["description"],
        "AMENDED BY THE BANK"
    );
    assert!(!copy.transactions.contains_key(&pending));
    assert!(
        basiq_transactions(&app, &basiq_user)
            .await
            .contains_key(&pending)
    );
}

#[tokio::test]
async fn of_two_identical_coffees_the_same_day_one_posting_replaces_one() {
    let app = app_with_webhooks().await;
    let (basiq_user, mut copy) = synced(&app, "alice").await;
    let coffees = change(
        &app,
        &basiq_user,
        json!({"add": [{"description": "CAFE BONDI SYDNEY", "amount": "-4.50", "pending": true, "count": 2}]}),
    )
    .await;
    let coffees: Vec<String> = coffees["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    refreshed(&app, "alice", 2).await;
    let changes = copy.sync(&app, "alice").await;
    assert_eq!(
        changes.added.iter().collect::<HashSet<_>>(),
        coffees.iter().collect::<HashSet<_>>()
    );

    let done = change(
        &app,
        &basiq_user,
        json!({"post": [{"id": coffees[0], "keepPending": true}]}),
    )
    .await;
    let posted = done["posted"][0]["postedId"].as_str().unwrap().to_owned();
    refreshed(&app, "alice", 3).await;
    let changes = copy.sync(&app, "alice").await;
    assert_eq!(changes.added, vec![posted]);
    assert_eq!(
        changes.removed.len(),
        1,
        "one coffee, not both: {changes:?}"
    );
    let coffees_left = copy
        .transactions
        .values()
        .filter(|t| t["description"] == "CAFE BONDI SYDNEY")
        .count();
    assert_eq!(coffees_left, 2, "one pending and one posted coffee");
}

#[tokio::test]
async fn a_coffee_basiq_lists_in_place_of_its_pending_one_leaves_the_other_coffee_alone() {
    let app = app_with_webhooks().await;
    let (basiq_user, mut copy) = synced(&app, "alice").await;
    let coffees = change(
        &app,
        &basiq_user,
        json!({"add": [{"description": "CAFE BONDI SYDNEY", "amount": "-4.50", "pending": true, "count": 2}]}),
    )
    .await;
    let first = coffees["added"][0].as_str().unwrap().to_owned();
    let second = coffees["added"][1].as_str().unwrap().to_owned();
    refreshed(&app, "alice", 2).await;
    copy.sync(&app, "alice").await;
    let done = change(&app, &basiq_user, json!({"post": [{"id": first}]})).await;
    let posted = done["posted"][0]["postedId"].as_str().unwrap().to_owned();
    refreshed(&app, "alice", 3).await;
    let changes = copy.sync(&app, "alice").await;
    assert_eq!(changes.removed, vec![first]);
    assert_eq!(changes.added, vec![posted]);
    assert_eq!(copy.transactions[&second]["status"], "pending");
}

/// Adds two identical pending coffees after a first sync, and syncs them: their ids.
async fn two_pending_coffees(app: &TestApp, basiq_user: &str, copy: &mut Copy) -> Vec<String> {
    let coffees = change(
        app,
        basiq_user,
        json!({"add": [{"description": "CAFE BONDI SYDNEY", "amount": "-4.50", "pending": true, "count": 2}]}),
    )
    .await;
    refreshed(app, "alice", 2).await;
    copy.sync(app, "alice").await;
    coffees["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_posting_whose_pending_one_disappeared_a_refresh_before_leaves_an_identical_pending_one_listed()
 {
    let app = app_with_webhooks().await;
    let (basiq_user, mut copy) = synced(&app, "alice").await;
    let coffees = two_pending_coffees(&app, &basiq_user, &mut copy).await;
    // The bank drops the first coffee's pending one, and its posting comes a refresh later,
    // identical to the second coffee, which Basiq still lists as pending.
    change(&app, &basiq_user, json!({"remove": [coffees[0]]})).await;
    refreshed(&app, "alice", 3).await;
    assert_eq!(copy.sync(&app, "alice").await.removed, [coffees[0].clone()]);
    let posting = change(
        &app,
        &basiq_user,
        json!({"add": [{"description": "CAFE BONDI SYDNEY", "amount": "-4.50"}]}),
    )
    .await;
    let posted = posting["added"][0].as_str().unwrap().to_owned();
    refreshed(&app, "alice", 4).await;
    let changes = copy.sync(&app, "alice").await;
    assert_eq!(changes.added, [posted]);
    assert!(changes.removed.is_empty(), "{changes:?}");
    assert_eq!(copy.transactions[&coffees[1]]["status"], "pending");
    same_ids(
        &copy.transactions,
        &basiq_transactions(&app, &basiq_user).await,
    );
    // The second coffee posts in its turn: still Basiq's list.
    change(&app, &basiq_user, json!({"post": [{"id": coffees[1]}]})).await;
    refreshed(&app, "alice", 5).await;
    let changes = copy.sync(&app, "alice").await;
    assert_eq!(changes.removed, [coffees[1].clone()]);
    same_ids(
        &copy.transactions,
        &basiq_transactions(&app, &basiq_user).await,
    );
}

#[tokio::test]
async fn a_pending_coffee_kept_out_for_an_identical_ones_posting_comes_back_when_that_one_disappears()
 {
    let app = app_with_webhooks().await;
    let (basiq_user, mut copy) = synced(&app, "alice").await;
    let mut coffees = two_pending_coffees(&app, &basiq_user, &mut copy).await;
    // Of two identical coffees, matching keeps out the one first by id: the other posts, so
    // the wrong one is kept out while Basiq lists both.
    coffees.sort();
    let done = change(
        &app,
        &basiq_user,
        json!({"post": [{"id": coffees[1], "keepPending": true}]}),
    )
    .await;
    let posted = done["posted"][0]["postedId"].as_str().unwrap().to_owned();
    refreshed(&app, "alice", 3).await;
    let changes = copy.sync(&app, "alice").await;
    assert_eq!(changes.added, std::slice::from_ref(&posted));
    assert_eq!(changes.removed.len(), 1, "{changes:?}");
    // Basiq settles: the pending one that posted disappears. The other is still pending, and
    // the copy shows it again.
    change(&app, &basiq_user, json!({"remove": [coffees[1]]})).await;
    refreshed(&app, "alice", 4).await;
    copy.sync(&app, "alice").await;
    let basiq = basiq_transactions(&app, &basiq_user).await;
    assert!(basiq.contains_key(&coffees[0]) && basiq.contains_key(&posted));
    same_ids(&copy.transactions, &basiq);
}

#[tokio::test]
async fn an_amount_that_changes_at_posting_is_still_the_same_purchase() {
    let app = app_with_webhooks().await;
    let (basiq_user, mut copy) = synced(&app, "alice").await;
    let dinner = change(
        &app,
        &basiq_user,
        json!({"add": [{"description": "THE GROUNDS ALEXANDRIA", "amount": "-50.00", "pending": true}]}),
    )
    .await;
    let dinner = dinner["added"][0].as_str().unwrap().to_owned();
    refreshed(&app, "alice", 2).await;
    copy.sync(&app, "alice").await;
    let done = change(
        &app,
        &basiq_user,
        json!({"post": [{"id": dinner, "amount": "-57.50", "keepPending": true}]}),
    )
    .await;
    let posted = done["posted"][0]["postedId"].as_str().unwrap().to_owned();
    refreshed(&app, "alice", 3).await;
    let changes = copy.sync(&app, "alice").await;
    assert_eq!(changes.removed, vec![dinner]);
    assert_eq!(changes.added, vec![posted.clone()]);
    assert_eq!(copy.transactions[&posted]["amount"], "-57.50");
}

#[tokio::test]
async fn a_pending_one_that_never_posts_and_disappears_is_removed() {
    let app = app_with_webhooks().await;
    let (basiq_user, mut copy) = synced(&app, "alice").await;
    let pending = some_pending(&copy);
    change(&app, &basiq_user, json!({"remove": [pending]})).await;
    refreshed(&app, "alice", 2).await;
    let changes = copy.sync(&app, "alice").await;
    assert_eq!(changes.removed, vec![pending]);
    assert!(changes.added.is_empty() && changes.modified.is_empty());
    assert_eq!(refreshes(&app, "alice").await.last(), Some(&(0, 0, 1)));
}

#[tokio::test]
async fn a_client_that_applies_every_page_ends_with_basiqs_set_even_while_a_refresh_runs_between_pages()
 {
    let app = app_with_webhooks().await;
    let basiq_user = connected(&app, "alice").await;
    let mut copy = Copy::default();
    let (_, more) = copy.page(&app, "alice", 100).await;
    assert!(more);
    // Between two pages, the bank changes things: some the client has, some it has not yet.
    let first_page: Vec<String> = copy.transactions.keys().cloned().collect();
    let all = basiq_transactions(&app, &basiq_user).await;
    let not_yet = all
        .keys()
        .find(|id| !copy.transactions.contains_key(*id))
        .unwrap()
        .clone();
    let pending = all.values().find(|t| t["status"] == "pending").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    change(
        &app,
        &basiq_user,
        json!({
            "amend": [{"id": first_page[0], "amount": "-1.23"}, {"id": not_yet, "description": "CHANGED"}],
            "remove": [first_page[1]],
            "post": [{"id": pending}],
            "add": [{"count": 3, "description": "A SHOP NEVER SEEN BEFORE"}],
        }),
    )
    .await;
    refreshed(&app, "alice", 2).await;
    loop {
        let (_, more) = copy.page(&app, "alice", 100).await;
        if !more {
            break;
        }
    }
    let basiq = basiq_transactions(&app, &basiq_user).await;
    same_ids(&copy.transactions, &basiq);
    for (id, t) in &basiq {
        assert_eq!(copy.transactions[id]["amount"], t["amount"], "{id}");
        assert_eq!(
            copy.transactions[id]["description"], t["description"],
            "{id}"
        );
    }
    let unique: HashSet<&String> = copy.added_ever.iter().collect();
    assert_eq!(unique.len(), copy.added_ever.len(), "nothing added twice");
}

#[tokio::test]
async fn a_refresh_that_changes_some_records_logs_exactly_those_changes() {
    let app = app_with_webhooks().await;
    let (basiq_user, copy) = synced(&app, "alice").await;
    let ids: Vec<&String> = copy.transactions.keys().take(7).collect();
    change(
        &app,
        &basiq_user,
        json!({
            "amend": ids[..5].iter().map(|id| json!({"id": id, "amount": "-9.99"})).collect::<Vec<_>>(),
            "remove": ids[5..],
            "add": [{"count": 4, "description": "A SHOP NEVER SEEN BEFORE"}],
        }),
    )
    .await;
    refreshed(&app, "alice", 2).await;
    assert_eq!(refreshes(&app, "alice").await[1], (4, 5, 2));
}

#[tokio::test]
async fn two_replicas_syncing_one_user_at_once_read_basiq_once_and_log_once() {
    let app = spawn_app().await;
    connected(&app, "alice").await;
    let replica = app.spawn_replica().await;
    // The replica's start-up recovery reads Basiq's events, the job's `transactions.updated`
    // among them: let it pass, so the only refreshes are the two syncs'.
    app.eventually("the replica recovered the job's events", |pool| async move {
        let n: i64 = sqlx::query_scalar(
            "select count(*) from events where app_user_id = 'alice' and event_type = 'data.updated'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        n >= 2
    })
    .await;
    let before = transaction_calls(&app).await;
    let get = |base: String| {
        let http = app.http.clone();
        async move {
            let r = http
                .get(format!("{base}/v1/transactions/sync?limit=10"))
                .bearer_auth(jwt_for("alice"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let (a, b) = tokio::join!(get(app.base.clone()), get(replica.base.clone()));
    assert_eq!(a["added"], b["added"], "both answer from the one store");
    let calls = transaction_calls(&app).await - before;
    let basiq_user = app.basiq_user_id("alice").await;
    let pages = basiq_transactions(&app, &basiq_user)
        .await
        .len()
        .div_ceil(500);
    assert_eq!(calls, pages, "one refresh");
    assert_eq!(refreshes(&app, "alice").await.len(), 1, "one change log");
}

#[tokio::test]
async fn a_cursor_is_only_good_for_its_user_and_its_store() {
    let app = spawn_app().await;
    let (_, alice) = synced(&app, "alice").await;
    let cursor = alice.cursor.clone().unwrap();
    for (sub, value) in [
        ("bob", cursor.as_str()),
        ("alice", "not-a-cursor"),
        ("alice", "AAAA.BBBB"),
    ] {
        let a = app
            .get(
                &format!("/v1/transactions/sync?cursor={}", urlencode(value)),
                sub,
            )
            .await;
        assert_eq!(a.status, 400, "{sub} {value}");
        assert_eq!(a.body["code"], "cursor_expired");
        assert_eq!(a.body["field"], "cursor");
    }
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("since=1", "since"),
    ] {
        let a = app
            .get(&format!("/v1/transactions/sync?{query}"), "alice")
            .await;
        assert_eq!(a.status, 400);
        assert_eq!(a.problem_field(), Some(field));
    }
}

async fn stored_rows(app: &TestApp, sub: &str) -> i64 {
    sqlx::query_scalar(
        "select (select count(*) from sync_records where app_user_id = $1)
              + (select count(*) from sync_changes where app_user_id = $1)
              + (select count(*) from sync_refreshes where app_user_id = $1)
              + (select count(*) from sync_state where app_user_id = $1)",
    )
    .bind(sub)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn what_is_stored_is_sealed_and_erased_with_the_user() {
    let app = spawn_app().await;
    let (_, copy) = synced(&app, "alice").await;
    let dump_before = dump(&app).await;
    let t = copy
        .transactions
        .values()
        .find(|t| t["enrich"]["merchant"].is_object())
        .unwrap();
    let id = t["id"].as_str().unwrap();
    assert!(dump_before.contains(id), "ids are in the clear");
    for secret in [&t["description"], &t["enrich"]["merchant"]["businessName"]] {
        assert!(
            !dump_before.contains(secret.as_str().unwrap()),
            "{secret} is sealed"
        );
    }
    let r = app.delete("/v1/me", "alice").await;
    assert_eq!(r.status, 204);
    assert_eq!(stored_rows(&app, "alice").await, 0);
    assert!(!dump(&app).await.contains(id));
}

#[tokio::test]
async fn a_revoked_consent_erases_the_store_and_expires_the_cursor() {
    let app = app_with_webhooks().await;
    let (basiq_user, copy) = synced(&app, "alice").await;
    let id = copy.transactions.keys().next().unwrap().clone();
    app.sim_post(
        &format!("/__sim/users/{basiq_user}/consents/revoke"),
        Value::Null,
    )
    .await;
    app.eventually("the store is erased", |pool| async move {
        let n: i64 =
            sqlx::query_scalar("select count(*) from sync_state where app_user_id = 'alice'")
                .fetch_one(&pool)
                .await
                .unwrap();
        n == 0
    })
    .await;
    assert_eq!(stored_rows(&app, "alice").await, 0);
    assert!(!dump(&app).await.contains(&id));
}

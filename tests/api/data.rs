//! Accounts, transactions, connections and institutions: validation and isolation.

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_user_without_a_basiq_user_sees_empty_lists() {
    let app = spawn_app().await;
    for path in [
        "/v1/accounts",
        "/v1/transactions",
        "/v1/connections",
        "/v1/jobs",
    ] {
        let a = app.get(path, "newcomer").await;
        assert_eq!(a.status, 200, "{path}");
        assert_eq!(a.body["data"], Value::Array(vec![]), "{path}");
    }
    assert_eq!(app.get("/v1/accounts/abc", "newcomer").await.status, 404);
}

#[tokio::test]
async fn every_bad_transactions_parameter_is_a_400_naming_it() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=abc", "limit"),
        ("accountId=a'b", "accountId"),
        ("connectionId=%2e%2e%2f", "connectionId"),
        ("institutionId=", "institutionId"),
        ("status=cleared", "status"),
        ("direction=sideways", "direction"),
        ("from=2026-02-30", "from"),
        ("to=20260101", "to"),
        ("from=2026-03-01&to=2026-01-01", "from"),
        ("cursor=forged.value", "cursor"),
        ("bogus=1", "bogus"),
        ("limit=1&limit=2", "limit"),
    ] {
        let a = app.get(&format!("/v1/transactions?{query}"), "alice").await;
        assert_eq!(a.status, 400, "{query}: {:?}", a.body);
        assert_eq!(a.problem_field(), Some(field), "{query}");
    }
    let before = app.sim_requests().await.len();
    app.get(
        "/v1/transactions?accountId=x')%2Cconnection.id.ne('",
        "alice",
    )
    .await;
    let after = app.sim_requests().await;
    assert_eq!(before, after.len(), "nothing unvalidated reaches Basiq");
}

#[tokio::test]
async fn filters_narrow_the_transactions() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let accounts = app.get("/v1/accounts", "alice").await;
    let account_id = accounts.body["data"][0]["id"].as_str().unwrap().to_owned();
    let a = app
        .get(&format!("/v1/transactions?accountId={account_id}&direction=credit&status=posted&from=2000-01-01&limit=500"), "alice")
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let data = a.body["data"].as_array().unwrap();
    assert!(!data.is_empty());
    for t in data {
        assert_eq!(t["accountId"], account_id.as_str());
        assert_eq!(t["direction"], "credit");
        assert_eq!(t["status"], "posted");
    }
    let sent = app.sim_requests().await;
    let last = sent
        .iter()
        .rev()
        .find(|r| r["path"].as_str().unwrap().ends_with("/transactions"))
        .unwrap();
    let query = last["query"].as_str().unwrap();
    let filter: String = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "filter")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(
        filter,
        format!(
            "account.id.eq('{account_id}'),transaction.status.eq('posted'),transaction.direction.eq('credit'),transaction.postDate.gteq('2000-01-01')"
        )
    );
}

#[tokio::test]
async fn a_cursor_cannot_be_edited_reused_by_another_user_or_combined_with_other_filters() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    app.connect_bank("bob", "gavinBelson", "hooli2016").await;
    let first = app
        .get("/v1/transactions?limit=5&status=posted", "alice")
        .await;
    let cursor = first.body["nextCursor"]
        .as_str()
        .expect("more pages")
        .to_owned();

    let ok = app
        .get(
            &format!("/v1/transactions?cursor={cursor}&limit=5&status=posted"),
            "alice",
        )
        .await;
    assert_eq!(ok.status, 200, "repeating the same filters is fine");
    let other_filters = app
        .get(
            &format!("/v1/transactions?cursor={cursor}&status=pending"),
            "alice",
        )
        .await;
    assert_eq!(other_filters.status, 400);
    assert_eq!(other_filters.problem_field(), Some("cursor"));

    let bobs = app
        .get(&format!("/v1/transactions?cursor={cursor}"), "bob")
        .await;
    assert_eq!(bobs.status, 400);
    assert_eq!(bobs.problem_field(), Some("cursor"));

    let (payload, tag) = cursor.split_once('.').unwrap();
    let mut edited = payload.to_owned();
    edited.replace_range(0..1, if payload.starts_with('e') { "f" } else { "e" });
    let a = app
        .get(&format!("/v1/transactions?cursor={edited}.{tag}"), "alice")
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.problem_field(), Some("cursor"));
}

#[tokio::test]
async fn another_users_account_is_not_found() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    app.connect_bank("bob", "gavinBelson", "hooli2016").await;
    let bobs = app.get("/v1/accounts", "bob").await;
    let bobs_account = bobs.body["data"][0]["id"].as_str().unwrap().to_owned();
    let a = app
        .get(&format!("/v1/accounts/{bobs_account}"), "alice")
        .await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body["code"], "not_found");
    let missing = app.get("/v1/accounts/does-not-exist", "alice").await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body["code"], a.body["code"],
        "foreign and missing look the same"
    );
    let bad = app.get("/v1/accounts/a%27b", "alice").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.problem_field(), Some("accountId"));
}

#[tokio::test]
async fn another_users_transaction_or_connection_is_not_found() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    app.connect_bank("bob", "gavinBelson", "hooli2016").await;
    let bobs_transaction = app.get("/v1/transactions?limit=1", "bob").await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bobs_connection = app.get("/v1/connections", "bob").await.body["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in [
        format!("/v1/transactions/{bobs_transaction}"),
        format!("/v1/connections/{bobs_connection}"),
        "/v1/transactions/does-not-exist".to_owned(),
        "/v1/connections/does-not-exist".to_owned(),
    ] {
        let a = app.get(&path, "alice").await;
        assert_eq!(a.status, 404, "{path}: {:?}", a.body);
        assert_eq!(a.body["code"], "not_found", "{path}");
    }
    // Bob sees his own.
    let a = app
        .get(&format!("/v1/transactions/{bobs_transaction}"), "bob")
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["id"], bobs_transaction.as_str());
}

#[tokio::test]
async fn the_class_filter_reaches_basiq_and_narrows_the_transactions() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let a = app
        .get("/v1/transactions?class=transfer&limit=500", "alice")
        .await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    let data = a.body["data"].as_array().unwrap();
    assert!(!data.is_empty(), "the simulator has transfers");
    assert!(data.iter().all(|t| t["class"] == "transfer"));
    let sent = app.sim_requests().await;
    let query = sent
        .iter()
        .rev()
        .find(|r| r["path"].as_str().unwrap().ends_with("/transactions"))
        .unwrap()["query"]
        .as_str()
        .unwrap()
        .to_owned();
    let filter = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "filter")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(filter, "transaction.class.eq('transfer')");
}

#[tokio::test]
async fn basiqs_unmasked_account_number_is_never_passed_on() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let user = app.basiq_user_id("alice").await;
    let account = serde_json::json!({
        "type": "account", "id": "acc-1", "name": "Everyday", "accountNo": "062000 12345678",
        "maskedNumber": "xxxx5678", "unmaskedAccNum": "06200012345678", "bsb": "062000",
        "accountHolder": "Alice Example", "accountOwnership": "ONE_PARTY", "isOwned": true,
        "balance": "10.00", "availableFunds": "10.00", "creditLimit": null, "currency": "AUD",
        "class": {"type": "transaction", "product": "Everyday"}, "connection": "c1",
        "institution": "AU00000", "lastUpdated": "2026-01-01T00:00:00Z", "status": "available",
        "transactionIntervals": [{"from": "2025-01-01", "to": "2026-01-01"}]
    });
    for (path, body) in [
        (format!("/users/{user}/accounts/acc-1"), account.to_string()),
        (
            format!("/users/{user}/accounts"),
            serde_json::json!({"type": "list", "data": [account]}).to_string(),
        ),
    ] {
        app.sim_delete("/__sim/faults").await;
        app.sim_post(
            "/__sim/faults",
            serde_json::json!({"path": path, "status": 200, "body": body}),
        )
        .await;
        let ours = if path.ends_with("acc-1") {
            "/v1/accounts/acc-1"
        } else {
            "/v1/accounts"
        };
        let a = app.get(ours, "alice").await;
        assert_eq!(a.status, 200, "{ours}: {:?}", a.body);
        let text = a.body.to_string();
        assert!(!text.contains("06200012345678"), "{ours}: {text}");
        assert!(!text.contains("unmasked"), "{ours}: {text}");
        assert!(text.contains("xxxx5678"), "{ours}: {text}");
    }
}

#[tokio::test]
async fn institutions_are_cached_and_filterable() {
    let app = spawn_app().await;
    let all = app.get("/v1/institutions", "alice").await;
    assert_eq!(all.status, 200, "{:?}", all.body);
    let list = all.body["data"].as_array().unwrap();
    assert!(list.iter().any(|i| i["id"] == "AU00000"));
    let ob = app
        .get("/v1/institutions?method=open-banking", "alice")
        .await;
    for i in ob.body["data"].as_array().unwrap() {
        assert_eq!(i["method"], "openbanking");
    }
    let hooli = app.get("/v1/institutions?q=hooli", "alice").await;
    assert!(!hooli.body["data"].as_array().unwrap().is_empty());
    let bad = app.get("/v1/institutions?method=fax", "alice").await;
    assert_eq!(bad.problem_field(), Some("method"));
    let fetches = app
        .sim_requests()
        .await
        .iter()
        .filter(|r| r["path"] == "/connectors")
        .count();
    assert_eq!(fetches, 1, "served from the cache after the first call");
}

#[tokio::test]
async fn a_stale_institutions_list_is_served_while_basiq_fails_and_refreshed_after() {
    let mut setup = crate::helpers::Setup::default();
    setup.options.institutions_ttl = std::time::Duration::ZERO;
    let app = crate::helpers::spawn_app_with(setup).await;
    let fetches = |requests: Vec<Value>| {
        requests
            .iter()
            .filter(|r| r["path"] == "/connectors")
            .count()
    };
    let first = app.get("/v1/institutions", "alice").await;
    assert_eq!(first.status, 200);
    app.sim_post(
        "/__sim/faults",
        serde_json::json!({"path": "/connectors", "status": 503}),
    )
    .await;
    // Every list is stale at once (TTL zero): it is served, and a refresh runs behind it.
    for _ in 0..3 {
        let stale = app.get("/v1/institutions", "alice").await;
        assert_eq!(stale.status, 200, "{:?}", stale.body);
        assert_eq!(stale.body["data"], first.body["data"]);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        fetches(app.sim_requests().await) >= 2,
        "refreshes were attempted"
    );
}

/// `(ours, Basiq's)` JSON pointers of every transaction field: ours are named our way.
const TRANSACTION_FIELDS: &[(&str, &str)] = &[
    ("/id", "/id"),
    ("/status", "/status"),
    ("/description", "/description"),
    ("/reference", "/reference"),
    ("/amount", "/amount"),
    ("/currency", "/currency"),
    ("/balance", "/balance"),
    ("/direction", "/direction"),
    ("/class", "/class"),
    ("/subClass/code", "/subClass/code"),
    ("/subClass/title", "/subClass/title"),
    ("/accountId", "/account"),
    ("/connectionId", "/connection"),
    ("/institutionId", "/institution"),
    ("/transactionDate", "/transactionDate"),
    ("/postDate", "/postDate"),
    (
        "/paymentDetails/bpay/billerCode",
        "/paymentDetails/bpay/billerCode",
    ),
    (
        "/paymentDetails/bpay/billerName",
        "/paymentDetails/bpay/billerName",
    ),
    ("/paymentDetails/bpay/crn", "/paymentDetails/bpay/crn"),
    ("/paymentDetails/apcaNumber", "/paymentDetails/apcaNumber"),
    ("/enrich/cleanDescription", "/enrich/cleanDescription"),
    ("/enrich/tags", "/enrich/tags"),
    ("/enrich/merchant/id", "/enrich/merchant/id"),
    (
        "/enrich/merchant/businessName",
        "/enrich/merchant/businessName",
    ),
    ("/enrich/merchant/abn", "/enrich/merchant/ABN"),
    ("/enrich/merchant/website", "/enrich/merchant/website"),
    (
        "/enrich/merchant/phone/local",
        "/enrich/merchant/phoneNumber/local",
    ),
    (
        "/enrich/merchant/phone/international",
        "/enrich/merchant/phoneNumber/international",
    ),
    (
        "/enrich/merchant/logo/master",
        "/enrich/merchant/logoMaster",
    ),
    ("/enrich/merchant/logo/thumb", "/enrich/merchant/logoThumb"),
    ("/enrich/category/matchType", "/enrich/category/matchType"),
    ("/enrich/category/matchScore", "/enrich/category/matchScore"),
    ("/enrich/category/mcc/code", "/enrich/category/mcc/code"),
    ("/enrich/category/mcc/title", "/enrich/category/mcc/title"),
    (
        "/enrich/category/anzsic/division/code",
        "/enrich/category/anzsic/division/code",
    ),
    (
        "/enrich/category/anzsic/division/title",
        "/enrich/category/anzsic/division/title",
    ),
    (
        "/enrich/category/anzsic/subdivision/code",
        "/enrich/category/anzsic/subdivision/code",
    ),
    (
        "/enrich/category/anzsic/group/code",
        "/enrich/category/anzsic/group/code",
    ),
    (
        "/enrich/category/anzsic/class/code",
        "/enrich/category/anzsic/class/code",
    ),
    (
        "/enrich/category/anzsic/class/title",
        "/enrich/category/anzsic/class/title",
    ),
    (
        "/enrich/category/anzsic/subclass/code",
        "/enrich/category/anzsic/subclass/code",
    ),
    (
        "/enrich/location/formattedAddress",
        "/enrich/location/formattedAddress",
    ),
    ("/enrich/location/routeNo", "/enrich/location/routeNo"),
    ("/enrich/location/route", "/enrich/location/route"),
    ("/enrich/location/suburb", "/enrich/location/suburb"),
    ("/enrich/location/state", "/enrich/location/state"),
    ("/enrich/location/postalCode", "/enrich/location/postalCode"),
    ("/enrich/location/country", "/enrich/location/country"),
    (
        "/enrich/location/geometry/lat",
        "/enrich/location/geometry/lat",
    ),
    (
        "/enrich/location/geometry/lng",
        "/enrich/location/geometry/lng",
    ),
];

const ACCOUNT_FIELDS: &[(&str, &str)] = &[
    ("/id", "/id"),
    ("/name", "/name"),
    ("/accountNo", "/accountNo"),
    ("/maskedNumber", "/maskedNumber"),
    ("/bsb", "/bsb"),
    ("/accountHolder", "/accountHolder"),
    ("/accountOwnership", "/accountOwnership"),
    ("/isOwned", "/isOwned"),
    ("/balance", "/balance"),
    ("/availableFunds", "/availableFunds"),
    ("/creditLimit", "/creditLimit"),
    ("/currency", "/currency"),
    ("/class/type", "/class/type"),
    ("/class/product", "/class/product"),
    ("/connectionId", "/connection"),
    ("/institutionId", "/institution"),
    ("/lastUpdated", "/lastUpdated"),
    ("/status", "/status"),
    ("/transactionIntervals", "/transactionIntervals"),
];

/// `value` without its `null` members (we write `null` where Basiq leaves a field out).
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// For each pair, our value equals Basiq's (or is `null` where Basiq has none); and each of
/// Basiq's fields was seen with a value at least once, so every mapping was exercised.
fn assert_mapped(ours: &[Value], basiq: &[Value], fields: &[(&str, &str)]) {
    assert_eq!(ours.len(), basiq.len());
    let mut seen = std::collections::BTreeSet::new();
    for (o, b) in ours.iter().zip(basiq) {
        for (our, theirs) in fields {
            let expected = without_nulls(b.pointer(theirs).cloned().unwrap_or(Value::Null));
            let got = without_nulls(o.pointer(our).cloned().unwrap_or(Value::Null));
            assert_eq!(got, expected, "{our} (Basiq's {theirs}) of {}", o["id"]);
            if !expected.is_null() {
                seen.insert(*our);
            }
        }
    }
    let unseen: Vec<_> = fields.iter().filter(|(o, _)| !seen.contains(o)).collect();
    assert!(unseen.is_empty(), "never seen with a value: {unseen:?}");
}

#[tokio::test]
async fn every_field_basiq_gives_reaches_the_app_under_our_name() {
    let app = spawn_app().await;
    app.connect_bank("alice", "Wentworth-Smith", "whislter")
        .await;
    let user = app.basiq_user_id("alice").await;

    let theirs = app
        .basiq_get(&format!("/users/{user}/transactions?limit=500"))
        .await;
    let ours = app.get("/v1/transactions?limit=500", "alice").await;
    assert_eq!(ours.status, 200, "{:?}", ours.body);
    assert_mapped(
        ours.body["data"].as_array().unwrap(),
        theirs["data"].as_array().unwrap(),
        TRANSACTION_FIELDS,
    );

    let theirs = app.basiq_get(&format!("/users/{user}/accounts")).await;
    let ours = app.get("/v1/accounts", "alice").await;
    assert_mapped(
        ours.body["data"].as_array().unwrap(),
        theirs["data"].as_array().unwrap(),
        ACCOUNT_FIELDS,
    );
    // The one-account route adds the account's own dates, rates and meta, as Basiq types them.
    let mut detail_fields = ACCOUNT_FIELDS.to_vec();
    detail_fields.extend([
        ("/creationDate", "/creationDate"),
        ("/depositRate", "/depositRate"),
        ("/lendingRate", "/lendingRate"),
        ("/meta/fees", "/meta/fees"),
        ("/meta/depositRates", "/meta/depositRates"),
        ("/meta/lendingRates", "/meta/lendingRates"),
        ("/meta/features", "/meta/features"),
        ("/meta/loan", "/meta/loan"),
        ("/meta/creditCard", "/meta/creditCard"),
    ]);
    let (mut ours_one, mut theirs_one) = (Vec::new(), Vec::new());
    for account in theirs["data"].as_array().unwrap() {
        let id = account["id"].as_str().unwrap();
        ours_one.push(app.get(&format!("/v1/accounts/{id}"), "alice").await.body);
        theirs_one.push(app.basiq_get(&format!("/users/{user}/accounts/{id}")).await);
    }
    assert_mapped(&ours_one, &theirs_one, &detail_fields);
    // The holder's postal addresses are not passed on.
    assert!(
        ours_one
            .iter()
            .all(|a| a["meta"].get("addresses").is_none())
    );
}

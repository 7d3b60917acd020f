//! Transactions and accounts: data shape, filters with every operator, limits, paging, seeds.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::connections::urlencode;
use crate::helpers::*;

fn ids(list: &[Value]) -> Vec<String> {
    list.iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_connection_has_accounts_of_several_classes_with_money_as_strings() {
    let sim = spawn_sim().await;
    let (token, user, connection) = sim.connected_user().await;
    let (_, accounts) = sim.get(&token, &format!("/users/{user}/accounts")).await;
    let accounts = accounts["data"].as_array().unwrap();
    let classes: HashSet<&str> = accounts
        .iter()
        .map(|a| a["class"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        classes,
        HashSet::from(["transaction", "savings", "credit-card", "mortgage"])
    );
    for a in accounts {
        assert_eq!(a["connection"], connection.as_str());
        assert_eq!(a["institution"], "AU00000");
        let balance = a["balance"].as_str().unwrap();
        assert!(balance.parse::<f64>().is_ok() && balance.split('.').nth(1).unwrap().len() == 2);
    }
    let account = accounts[0]["id"].as_str().unwrap();
    let filter = urlencode(&format!("account.id.eq('{account}')"));
    let (_, one) = sim
        .get(&token, &format!("/users/{user}/accounts?filter={filter}"))
        .await;
    assert_eq!(one["data"].as_array().unwrap().len(), 1);
    // Basiq documents `ne` for its institutions endpoint only
    // (reference/TOPICS/collections-filters.md).
    let filter = urlencode(&format!(
        "account.id.ne('{account}'),institution.id.eq('AU00000')"
    ));
    let (status, _) = sim
        .get(&token, &format!("/users/{user}/accounts?filter={filter}"))
        .await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    let filter = urlencode("connection.id.eq('other')");
    let (_, none) = sim
        .get(&token, &format!("/users/{user}/accounts?filter={filter}"))
        .await;
    assert!(none["data"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn each_account_carries_its_identity_and_the_terms_of_its_product() {
    let sim = spawn_sim().await;
    let (token, user, connection) = sim.connected_user().await;
    let (_, accounts) = sim.get(&token, &format!("/users/{user}/accounts")).await;
    let accounts = accounts["data"].as_array().unwrap();
    let of = |class: &str| {
        accounts
            .iter()
            .find(|a| a["class"]["type"] == class)
            .unwrap()
    };
    let (_, c) = sim
        .get(&token, &format!("/users/{user}/connections/{connection}"))
        .await;
    let holder = c["profile"]["fullName"].as_str().unwrap().to_uppercase();
    for a in accounts {
        let text = |field: &str| a[field].as_str().unwrap();
        assert_eq!(text("accountHolder"), holder);
        assert!(text("creationDate") < a["transactionIntervals"][0]["from"].as_str().unwrap());
        let last4 = &text("accountNo")[text("accountNo").len() - 4..];
        assert!(text("maskedNumber").ends_with(last4), "{a}");
        if let Some(number) = a["unmaskedAccNum"].as_str() {
            assert_eq!(format!("{}{number}", text("bsb")), text("accountNo"));
            assert!(!text("maskedNumber").contains(&number[..4]));
        }
        let mailing = &a["meta"]["addresses"][0]["simple"]["mailingName"];
        assert_eq!(mailing.as_str(), Some(holder.as_str()));
    }

    let saver = of("savings");
    let rates: Vec<&str> = saver["meta"]["depositRates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["depositRateType"].as_str().unwrap())
        .collect();
    assert_eq!(rates, ["VARIABLE", "BONUS"]);
    assert!(saver["meta"]["lendingRates"].is_null() && saver.get("lendingRate").is_none());
    assert!(
        saver["depositRate"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
            > 0.0
    );

    let card = of("credit-card");
    assert!(card.get("bsb").is_none() && card.get("unmaskedAccNum").is_none());
    assert_eq!(
        card["meta"]["lendingRates"][0]["lendingRateType"],
        "PURCHASE"
    );
    assert_eq!(card["lendingRate"], card["meta"]["lendingRates"][0]["rate"]);
    let owed = card["balance"].as_str().unwrap().trim_start_matches('-');
    assert_eq!(card["meta"]["creditCard"]["paymentDueAmount"], owed);
    let fees: Vec<&str> = card["meta"]["fees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(fees.contains(&"Annual fee"), "{fees:?}");
    assert!(card["meta"]["depositRates"].is_null());

    let everyday = of("transaction");
    assert!(!everyday["meta"]["fees"].as_array().unwrap().is_empty());
    assert!(!everyday["meta"]["features"].as_array().unwrap().is_empty());
    assert!(
        everyday["meta"]["depositRates"].is_null() && everyday["meta"]["lendingRates"].is_null()
    );

    let mortgage = of("mortgage");
    let loan = &mortgage["meta"]["loan"];
    assert_eq!(loan["offsetAccountIds"][0], everyday["id"]);
    assert_eq!(loan["startDate"], mortgage["creationDate"]);
    assert_eq!(
        mortgage["lendingRate"],
        mortgage["meta"]["lendingRates"][0]["rate"]
    );
}

#[tokio::test]
async fn transactions_are_realistic_and_plentiful() {
    let sim = spawn_sim().await;
    let (token, user, _) = sim.connected_user().await;
    let all = sim
        .all_transactions(&token, &format!("/users/{user}/transactions"))
        .await;
    assert!(all.len() >= 700, "{}", all.len());
    let count = |f: &dyn Fn(&Value) -> bool| all.iter().filter(|t| f(t)).count();
    assert!(count(&|t| t["direction"] == "debit") > 100);
    assert!(count(&|t| t["direction"] == "credit") > 50);
    assert!(count(&|t| t["status"] == "pending" && t["postDate"].is_null()) > 0);
    assert!(count(&|t| t["status"] == "posted" && t["postDate"].is_string()) > 600);
    let descriptions: HashSet<&str> = all
        .iter()
        .map(|t| t["description"].as_str().unwrap())
        .collect();
    assert!(descriptions.len() > 15);
    let months: HashSet<&str> = all
        .iter()
        .map(|t| &t["transactionDate"].as_str().unwrap()[..7])
        .collect();
    assert!(months.len() >= 5);
    for t in &all {
        let amount: f64 = t["amount"].as_str().unwrap().parse().unwrap();
        assert_eq!(amount < 0.0, t["direction"] == "debit");
    }
}

#[tokio::test]
async fn paging_through_links_next_returns_every_transaction_exactly_once() {
    let sim = spawn_sim().await;
    let (token, user, _) = sim.connected_user().await;
    let (_, first) = sim
        .get(&token, &format!("/users/{user}/transactions"))
        .await;
    assert_eq!(first["count"], 500);
    let total = first["size"].as_u64().unwrap() as usize;
    let next = first["links"]["next"].as_str().unwrap();
    assert!(
        next.starts_with(&sim.base) && next.contains("next="),
        "{next}"
    );
    for path in [
        format!("/users/{user}/transactions"),
        format!("/users/{user}/transactions?limit=97"),
        format!(
            "/users/{user}/transactions?limit=50&filter={}",
            urlencode("transaction.direction.eq('debit')")
        ),
    ] {
        let seen = ids(&sim.all_transactions(&token, &path).await);
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{path}: duplicates");
        if !path.contains("filter") {
            assert_eq!(seen.len(), total, "{path}");
        }
    }
}

#[tokio::test]
async fn limit_must_be_a_whole_number_from_1_to_500() {
    let sim = spawn_sim().await;
    let (token, user, _) = sim.connected_user().await;
    for bad in ["0", "501", "abc", "-1", "1.5"] {
        let (status, body) = sim
            .get(&token, &format!("/users/{user}/transactions?limit={bad}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "limit={bad}");
        let (code, source) = error_of(&body);
        assert_eq!(
            (code, &source["parameter"]),
            ("parameter-not-valid", &Value::from("limit"))
        );
    }
    for ok in ["1", "500"] {
        let (status, body) = sim
            .get(&token, &format!("/users/{user}/transactions?limit={ok}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["count"].as_u64().unwrap().to_string(), ok);
    }
}

#[tokio::test]
async fn every_filter_operator_and_field_selects_what_it_says() {
    let sim = spawn_sim().await;
    let (token, user, connection) = sim.connected_user().await;
    let all = sim
        .all_transactions(&token, &format!("/users/{user}/transactions"))
        .await;
    let day = |t: &Value| t["postDate"].as_str().map(|d| d[..10].to_owned());
    let pivot = day(&all[all.len() / 2]).unwrap();
    let later = day(&all[all.len() / 4]).unwrap();
    let account = all[0]["account"].as_str().unwrap().to_owned();
    type Check = Box<dyn Fn(&Value) -> bool>;
    let d = move |f: fn(&str, &str) -> bool, v: String| -> Check {
        Box::new(move |t: &Value| t["postDate"].as_str().is_some_and(|p| f(&p[..10], &v)))
    };
    let cases: Vec<(String, Check)> = vec![
        (
            format!("transaction.postDate.eq('{pivot}')"),
            d(|a, b| a == b, pivot.clone()),
        ),
        (
            format!("transaction.postDate.gt('{pivot}')"),
            d(|a, b| a > b, pivot.clone()),
        ),
        (
            format!("transaction.postDate.gteq('{pivot}')"),
            d(|a, b| a >= b, pivot.clone()),
        ),
        (
            format!("transaction.postDate.lt('{pivot}')"),
            d(|a, b| a < b, pivot.clone()),
        ),
        (
            format!("transaction.postDate.lteq('{pivot}')"),
            d(|a, b| a <= b, pivot.clone()),
        ),
        (format!("transaction.postDate.bt('{pivot}','{later}')"), {
            let (p, l) = (pivot.clone(), later.clone());
            Box::new(move |t: &Value| {
                t["postDate"]
                    .as_str()
                    .is_some_and(|x| &x[..10] >= p.as_str() && &x[..10] <= l.as_str())
            })
        }),
        (
            "transaction.status.eq('pending')".into(),
            Box::new(|t: &Value| t["status"] == "pending"),
        ),
        (
            "transaction.direction.eq('credit')".into(),
            Box::new(|t: &Value| t["direction"] == "credit"),
        ),
        (
            "transaction.class.eq('payment')".into(),
            Box::new(|t: &Value| t["class"] == "payment"),
        ),
        (format!("account.id.eq('{account}')"), {
            let a = account.clone();
            Box::new(move |t: &Value| t["account"] == a.as_str())
        }),
        (
            format!("connection.id.eq('{connection}')"),
            Box::new(|_: &Value| true),
        ),
        (
            "institution.id.eq('AU00001')".into(),
            Box::new(|_: &Value| false),
        ),
        (
            format!("account.id.eq('{account}'),transaction.direction.eq('debit')"),
            {
                let a = account.clone();
                Box::new(move |t: &Value| t["account"] == a.as_str() && t["direction"] == "debit")
            },
        ),
    ];
    for (filter, check) in cases {
        let got = sim
            .all_transactions(
                &token,
                &format!("/users/{user}/transactions?filter={}", urlencode(&filter)),
            )
            .await;
        let want: Vec<Value> = all.iter().filter(|t| check(t)).cloned().collect();
        assert_eq!(ids(&got), ids(&want), "{filter}");
    }
}

#[tokio::test]
async fn an_invalid_filter_is_answered_400_naming_the_filter() {
    let sim = spawn_sim().await;
    let (token, user, _) = sim.connected_user().await;
    for bad in [
        "transaction.postDate.gt(2024-01-01)",
        "transaction.postDate.gt('01/02/2024')",
        "transaction.postDate.bt('2024-01-01')",
        "transaction.amount.gt('5')",
        "transaction.status.eq('done')",
        "account.id.lt('x')",
        "account.id.like('x')",
        "account.id.eq('x'",
        "garbage",
    ] {
        let (status, body) = sim
            .get(
                &token,
                &format!("/users/{user}/transactions?filter={}", urlencode(bad)),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        let (code, source) = error_of(&body);
        assert_eq!(code, "parameter-not-valid", "{bad}");
        assert_eq!(source["parameter"], "filter", "{bad}");
    }
}

#[tokio::test]
async fn the_same_seed_and_logins_give_the_same_data() {
    let (a, b) = (spawn_sim().await, spawn_sim().await);
    let other = spawn_with(basiq_sim::SimConfig {
        seed: 7,
        ..config()
    })
    .await;
    let mut seen = Vec::new();
    for sim in [&a, &b, &other] {
        let (token, user, _) = sim.connected_user().await;
        let page = sim
            .all_transactions(&token, &format!("/users/{user}/transactions?limit=20"))
            .await;
        seen.push(
            page.iter()
                .map(|t| {
                    (
                        t["id"].clone(),
                        t["amount"].clone(),
                        t["description"].clone(),
                        t["enrich"].clone(),
                    )
                })
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(seen[0], seen[1]);
    assert_ne!(seen[0], seen[2]);
}

/// How much `enrich` knows: "full" (merchant, category, location), "partial", or "none".
fn enrichment(t: &Value) -> &'static str {
    let e = &t["enrich"];
    let known = ["merchant", "category", "location"].map(|part| !e[part].is_null());
    match known {
        [true, true, true] => "full",
        [false, false, false] => "none",
        _ => "partial",
    }
}

#[tokio::test]
async fn most_purchases_are_fully_enriched_and_transfers_salary_and_cash_not_at_all() {
    let sim = spawn_sim().await;
    let (token, user, _) = sim.connected_user().await;
    let all = sim
        .all_transactions(&token, &format!("/users/{user}/transactions"))
        .await;
    let purchases: Vec<&Value> = all.iter().filter(|t| t["class"] == "payment").collect();
    let full = purchases.iter().filter(|t| enrichment(t) == "full").count();
    let share = full as f64 / purchases.len() as f64;
    assert!(
        (0.7..=0.9).contains(&share),
        "{full} of {}",
        purchases.len()
    );
    let partial: Vec<&&Value> = purchases
        .iter()
        .filter(|t| enrichment(t) == "partial")
        .collect();
    // Online sellers are named but never located; small businesses only categorised.
    for name in ["Netflix", "Spotify", "Uber"] {
        let sold = partial
            .iter()
            .filter(|t| t["enrich"]["merchant"]["businessName"] == name)
            .count();
        assert!(sold > 0, "{name}");
    }
    assert!(
        all.iter()
            .filter(|t| ["Netflix", "Spotify", "Uber"].contains(
                &t["enrich"]["merchant"]["businessName"]
                    .as_str()
                    .unwrap_or("")
            ))
            .all(|t| t["enrich"]["location"].is_null())
    );
    assert!(partial.iter().any(
        |t| t["enrich"]["merchant"].is_null() && t["enrich"]["category"]["matchType"] == "mcc"
    ));
    let plain = [
        "transfer",
        "direct-credit",
        "cash-withdrawal",
        "bank-fee",
        "interest",
        "loan-repayment",
        "loan-interest",
    ];
    for t in all
        .iter()
        .filter(|t| plain.contains(&t["class"].as_str().unwrap()))
    {
        assert_eq!(enrichment(t), "none", "{t}");
        assert!(!t["enrich"]["cleanDescription"].as_str().unwrap().is_empty());
        assert_eq!(
            t["subClass"],
            serde_json::json!({ "code": "", "title": "" })
        );
    }
    let tags = |class: &str| -> HashSet<String> {
        all.iter()
            .filter(|t| t["class"] == class)
            .flat_map(|t| t["enrich"]["tags"].as_array().unwrap().iter())
            .map(|tag| tag.as_str().unwrap().to_owned())
            .collect()
    };
    assert!(tags("direct-credit").contains("income:salary"));
    assert!(tags("cash-withdrawal").contains("conduct:atm"));
    assert!(tags("payment").iter().any(|t| t.starts_with("card:")));
}

#[tokio::test]
async fn enrichment_is_consistent_australian_data() {
    let sim = spawn_sim().await;
    let (token, user, _) = sim.connected_user().await;
    let all = sim
        .all_transactions(&token, &format!("/users/{user}/transactions"))
        .await;
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    let states = ["NSW", "VIC", "QLD", "SA", "WA", "TAS", "ACT", "NT"];
    let digits = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_digit());
    let mut merchants = HashSet::new();
    for t in &all {
        let e = &t["enrich"];
        for tag in e["tags"].as_array().unwrap() {
            let (name, value) = tag.as_str().unwrap().split_once(':').unwrap();
            assert!(!name.is_empty() && !value.is_empty(), "{tag}");
        }
        if let Some(c) = e["category"].as_object() {
            let a = &c["anzsic"];
            let (division, subdivision) = (
                text(&a["division"]["code"]),
                text(&a["subdivision"]["code"]),
            );
            let (group, class) = (text(&a["group"]["code"]), text(&a["class"]["code"]));
            assert!(division.len() == 1 && division.chars().all(|c| c.is_ascii_uppercase()));
            assert!(
                digits(&subdivision, 2) && group.starts_with(&subdivision),
                "{a}"
            );
            assert!(digits(&group, 3) && class.starts_with(&group), "{a}");
            assert!(digits(&class, 4), "{a}");
            assert_eq!(text(&a["subclass"]["code"]), format!("{class}00"));
            assert_eq!(a["subclass"]["title"], a["class"]["title"]);
            if t["class"] == "payment" {
                assert_eq!(t["subClass"], a["group"], "subClass is the ANZSIC group");
            }
            let score: f64 = text(&c["matchScore"]).parse().unwrap();
            assert!(score > 0.0 && score <= 1.0);
            if let Some(mcc) = c.get("mcc") {
                assert!(digits(&text(&mcc["code"]), 4), "{mcc}");
            }
        }
        if let Some(m) = e["merchant"].as_object() {
            let abn = text(&m["ABN"]);
            assert!(abn.is_empty() || digits(&abn, 11), "{abn}");
            assert!(text(&m["website"]).starts_with("https://"));
            merchants.insert((text(&m["businessName"]), text(&m["id"])));
        }
        if let Some(l) = e["location"].as_object() {
            let state = text(&l["state"]);
            assert!(states.contains(&state.as_str()), "{state}");
            assert!(digits(&text(&l["postalCode"]), 4));
            let lat: f64 = text(&l["geometry"]["lat"]).parse().unwrap();
            let lng: f64 = text(&l["geometry"]["lng"]).parse().unwrap();
            assert!((-44.0..=-10.0).contains(&lat) && (112.0..=154.0).contains(&lng));
            assert_eq!(
                text(&l["formattedAddress"]),
                format!(
                    "{} {}, {} {state} {}",
                    text(&l["routeNo"]),
                    text(&l["route"]),
                    text(&l["suburb"]),
                    text(&l["postalCode"])
                )
            );
            let phone = &e["merchant"]["phoneNumber"];
            let local = text(&phone["local"]);
            let area = &local[2..3];
            assert!(
                local.starts_with("(0") && local[3..].starts_with(") "),
                "{local}"
            );
            assert_eq!(
                text(&phone["international"]),
                format!("+61 {area} {}", &local[5..])
            );
        }
    }
    // One id per merchant, whatever the shop.
    let names: HashSet<&String> = merchants.iter().map(|(name, _)| name).collect();
    assert_eq!(names.len(), merchants.len(), "{merchants:?}");
    assert!(names.len() >= 15, "{names:?}");
}

#[tokio::test]
async fn bills_carry_their_payment_details_and_salary_the_payers_apca_number() {
    let sim = spawn_sim().await;
    let (token, user, _) = sim.connected_user().await;
    let all = sim
        .all_transactions(&token, &format!("/users/{user}/transactions"))
        .await;
    let bpay: Vec<&Value> = all
        .iter()
        .filter(|t| t["paymentDetails"]["bpay"].is_object())
        .collect();
    assert!(bpay.len() >= 5);
    let crns: HashSet<&str> = bpay
        .iter()
        .map(|t| t["paymentDetails"]["bpay"]["crn"].as_str().unwrap())
        .collect();
    assert_eq!(crns.len(), 1, "one customer, one reference at the biller");
    for t in &bpay {
        assert_eq!(t["class"], "payment");
        assert_eq!(t["paymentDetails"]["bpay"]["billerName"], "ORIGIN ENERGY");
        assert_eq!(t["enrich"]["merchant"]["businessName"], "Origin Energy");
    }
    let salaries: Vec<&Value> = all
        .iter()
        .filter(|t| t["class"] == "direct-credit")
        .collect();
    assert!(salaries.len() >= 12);
    for t in &salaries {
        let apca = t["paymentDetails"]["apcaNumber"].as_str().unwrap();
        assert!(apca.len() == 6 && apca.chars().all(|c| c.is_ascii_digit()));
    }
    let with_details = all
        .iter()
        .filter(|t| t.get("paymentDetails").is_some())
        .count();
    assert!(
        with_details < all.len() / 10,
        "only some rows carry payment details"
    );
}

//! Changes to a user's transactions on demand (`POST /__sim/users/{id}/transactions`), as
//! banks make them: a pending transaction posts under a new id (its amount may change, and
//! Basiq may list the pending one beside its posted copy for a while), one is amended, new ones
//! arrive, one disappears. Each changed connection then sends `transactions.updated`.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::data::{ConnectionData, Rng, mix, sort_key};
use crate::state::Store;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeRequest {
    /// Pending transactions that post.
    #[serde(default)]
    pub post: Vec<Post>,
    #[serde(default)]
    pub amend: Vec<Amend>,
    #[serde(default)]
    pub add: Vec<Add>,
    /// Ids of transactions that disappear.
    #[serde(default)]
    pub remove: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Post {
    /// The pending transaction's id.
    pub id: String,
    /// The posted amount, when it differs (a tip, a hold released lower).
    pub amount: Option<String>,
    /// Basiq still lists the pending one beside its posted copy.
    #[serde(default)]
    pub keep_pending: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Amend {
    pub id: String,
    pub description: Option<String>,
    pub amount: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Add {
    /// The account (default: the user's first account with transactions).
    pub account_id: Option<String>,
    /// Like this transaction (default: the account's newest posted card purchase, else its
    /// newest).
    pub like: Option<String>,
    pub description: Option<String>,
    pub amount: Option<String>,
    #[serde(default)]
    pub pending: bool,
    /// How many (default 1); each gets its own id and, without `amount`, its own amount.
    pub count: Option<u32>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    pub posted: Vec<PostedPair>,
    pub added: Vec<String>,
    pub amended: Vec<String>,
    pub removed: Vec<String>,
    /// The connections whose data changed.
    #[serde(skip)]
    pub connections: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostedPair {
    pub pending_id: String,
    pub posted_id: String,
}

/// `"-57.50"` as cents.
fn cents(field: &str, value: &str) -> Result<i64, String> {
    let bad = || format!("{field}: `{value}` is not an amount like -57.50");
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "00"));
    if whole.is_empty()
        || fraction.len() != 2
        || !(whole.bytes().chain(fraction.bytes())).all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let value = whole.parse::<i64>().map_err(|_| bad())? * 100
        + fraction.parse::<i64>().map_err(|_| bad())?;
    Ok(if negative { -value } else { value })
}

/// Where a transaction is: its connection and index.
fn find(store: &Store, user_id: &str, id: &str) -> Result<(String, usize), String> {
    store
        .user_data_connections(user_id)
        .into_iter()
        .filter(|c| !c.deleted)
        .find_map(|c| {
            c.data
                .transactions
                .iter()
                .position(|t| t.id == id)
                .map(|i| (c.id.clone(), i))
        })
        .ok_or_else(|| format!("no transaction {id} of this user"))
}

/// Applies `request` to the user's data, all of it or (on a bad part) none.
pub fn apply(
    store: &mut Store,
    user_id: &str,
    request: &ChangeRequest,
    seed: u64,
) -> Result<Applied, String> {
    if !store.users.contains_key(user_id) {
        return Err("no such user".into());
    }
    let today = Utc::now().date_naive();
    let now = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let mut rng = Rng::new(mix(
        seed,
        &[b"changes", user_id.as_bytes(), &now.to_be_bytes()],
    ));
    // Each changed connection's data, copied once and written back at the end.
    let mut copies: Vec<(String, ConnectionData)> = Vec::new();
    let copy_of = |store: &Store, id: &str, copies: &mut Vec<(String, ConnectionData)>| -> usize {
        if let Some(i) = copies.iter().position(|(c, _)| c == id) {
            return i;
        }
        copies.push((id.to_owned(), (*store.connections[id].data).clone()));
        copies.len() - 1
    };
    let mut applied = Applied::default();

    for post in &request.post {
        let (connection, _) = find(store, user_id, &post.id)?;
        let i = copy_of(store, &connection, &mut copies);
        let data = &mut copies[i].1;
        let index = data
            .transactions
            .iter()
            .position(|t| t.id == post.id)
            .ok_or_else(|| format!("post: {} was posted already", post.id))?;
        if !data.transactions[index].pending {
            return Err(format!("post: {} is not pending", post.id));
        }
        let mut posted = data.transactions[index].clone();
        posted.id = rng.uuid();
        posted.pending = false;
        posted.post_date = Some(today.max(posted.transaction_date));
        if let Some(amount) = &post.amount {
            posted.amount_cents = cents("post.amount", amount)?;
        }
        applied.posted.push(PostedPair {
            pending_id: post.id.clone(),
            posted_id: posted.id.clone(),
        });
        if !post.keep_pending {
            data.transactions.remove(index);
        }
        data.transactions.push(posted);
    }
    for amend in &request.amend {
        let (connection, _) = find(store, user_id, &amend.id)?;
        let i = copy_of(store, &connection, &mut copies);
        let data = &mut copies[i].1;
        let t = data
            .transactions
            .iter_mut()
            .find(|t| t.id == amend.id)
            .ok_or_else(|| format!("amend: {} was removed", amend.id))?;
        if let Some(d) = &amend.description {
            t.description = d.clone();
        }
        if let Some(a) = &amend.amount {
            t.amount_cents = cents("amend.amount", a)?;
        }
        applied.amended.push(amend.id.clone());
    }
    for add in &request.add {
        let connections = store.user_data_connections(user_id);
        let (connection, account) = match &add.account_id {
            Some(account_id) => connections
                .iter()
                .filter(|c| !c.deleted)
                .find_map(|c| {
                    c.data
                        .accounts
                        .iter()
                        .position(|a| &a.id == account_id)
                        .map(|a| (c.id.clone(), a))
                })
                .ok_or_else(|| format!("add: no account {account_id} of this user"))?,
            None => connections
                .iter()
                .filter(|c| !c.deleted)
                .find_map(|c| {
                    c.data
                        .transactions
                        .first()
                        .map(|t| (c.id.clone(), t.account))
                })
                .ok_or("add: the user has no transactions to add beside")?,
        };
        let i = copy_of(store, &connection, &mut copies);
        let data = &mut copies[i].1;
        let template = match &add.like {
            Some(like) => data
                .transactions
                .iter()
                .find(|t| &t.id == like)
                .ok_or_else(|| format!("add: no transaction {like} to add one like"))?,
            None => data
                .transactions
                .iter()
                .filter(|t| t.account == account && !t.pending)
                .find(|t| t.enrich.merchant.is_some())
                .or_else(|| data.transactions.iter().find(|t| t.account == account))
                .ok_or("add: the account has no transactions to add one like")?,
        }
        .clone();
        let amount = add
            .amount
            .as_deref()
            .map(|a| cents("add.amount", a))
            .transpose()?;
        for _ in 0..add.count.unwrap_or(1).min(10_000) {
            let mut t = template.clone();
            t.id = rng.uuid();
            t.account = account;
            t.pending = add.pending;
            t.transaction_date = today;
            t.post_date = (!add.pending).then_some(today);
            t.amount_cents = amount.unwrap_or_else(|| -rng.range(100, 20_000));
            if let Some(d) = &add.description {
                t.description = d.clone();
            }
            applied.added.push(t.id.clone());
            data.transactions.push(t);
        }
    }
    for id in &request.remove {
        let (connection, _) = find(store, user_id, id)?;
        let i = copy_of(store, &connection, &mut copies);
        let data = &mut copies[i].1;
        data.transactions.retain(|t| &t.id != id);
        applied.removed.push(id.clone());
    }

    for (id, mut data) in copies {
        data.transactions
            .sort_by(|a, b| sort_key(b).cmp(&sort_key(a)).then_with(|| a.id.cmp(&b.id)));
        let c = store.connections.get_mut(&id).expect("found above");
        c.data = Arc::new(data);
        c.rendered = Mutex::new(None);
        applied.connections.push(id);
    }
    Ok(applied)
}

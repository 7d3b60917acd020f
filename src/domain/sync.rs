//! The rules of sync (SPEC.md §8) that are neither HTTP nor SQL: which pending transaction a
//! newly posted one replaces, and the sync cursor.
//!
//! Basiq gives a pending transaction a new id when it posts, and may list the pending one for a
//! while beside its posted copy. A posted transaction new in a refresh replaces a pending one
//! of the same account when:
//! - it was made the same day (a day apart, for time zones) by their transaction dates, or,
//!   where either has none, it posted within [`POSTING_DAYS`] of the pending one's date;
//! - its description is alike (most words in common, ignoring numbers and punctuation);
//! - its amount is the same, or, when no pending one has the same amount, within half to one
//!   and a half times it with the same sign and a description that is more alike (a tip added
//!   at posting, a hotel's hold released at a lower amount).
//!
//! Each posted transaction replaces at most one pending one, and each pending one is replaced
//! at most once: of two identical coffees the same day, one posting removes one of them.
//!
//! Which one, when several fit: a pending one Basiq no longer lists is the likelier original,
//! whether it disappeared in this refresh or in an earlier one without a posted copy to
//! replace it (a bank may drop the pending one a refresh before the posted one arrives). Only
//! when none fits does a posting replace one Basiq still lists, which it then keeps out of the
//! copy while Basiq lists both. Such a pairing is not final: it is matched again at every
//! refresh (as long as both are listed, whatever their dates by then), and when a pending one
//! Basiq no longer lists fits the posted copy too, that one takes it over and the listed one
//! comes back, since Basiq lists it and it is then another purchase. So a purchase identical to
//! one still pending never hides it for longer than the posting of some other pending one could
//! explain, and once Basiq settles (the pending one it kept disappears) the copy is Basiq's list.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use chrono::NaiveDate;
use uuid::Uuid;

use crate::crypto::MacKey;

/// A posted copy comes at most this many days after its pending transaction.
pub const POSTING_DAYS: i64 = 5;

/// What matching looks at in a transaction.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: String,
    pub account: String,
    /// In ten-thousandths of the currency unit.
    pub amount: i64,
    /// When it was made (Basiq's `transactionDate`), if Basiq says.
    pub made: Option<NaiveDate>,
    /// When it posted; for a pending one, when it was made or first seen.
    pub date: NaiveDate,
    /// A pending one Basiq no longer lists (and no posted copy has replaced yet).
    pub gone: bool,
    /// A listed pending one kept out of the copy: the posted one that replaced it.
    pub replaced_by: Option<String>,
    words: Vec<String>,
}

impl Candidate {
    /// `None` when the amount is not a decimal number.
    pub fn new(
        id: &str,
        account: &str,
        amount: &str,
        made: Option<NaiveDate>,
        date: NaiveDate,
        description: &str,
    ) -> Option<Self> {
        Some(Self {
            id: id.to_owned(),
            account: account.to_owned(),
            amount: parse_amount(amount)?,
            made,
            date,
            gone: false,
            replaced_by: None,
            words: words(description),
        })
    }
}

/// `"-12.5"` as -125000 ten-thousandths; `None` unless a plain decimal with at most four
/// decimals.
pub fn parse_amount(s: &str) -> Option<i64> {
    let s = s.trim();
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty()
        || fraction.len() > 4
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let fraction: i64 = format!("{fraction:0<4}").parse().ok()?;
    let value = whole.checked_mul(10_000)?.checked_add(fraction)?;
    Some(if negative { -value } else { value })
}

/// The description's words, upper-cased, without numbers (store numbers, card digits and
/// dates differ between a pending and a posted copy) or punctuation.
fn words(description: &str) -> Vec<String> {
    let mut words: Vec<String> = description
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 1 && !w.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_uppercase)
        .collect();
    words.sort();
    words.dedup();
    words
}

/// How alike two descriptions are: shared words over the words of the shorter, 0 to 1.
fn alike(a: &[String], b: &[String]) -> f64 {
    let shorter = a.len().min(b.len());
    if shorter == 0 {
        return 0.0;
    }
    let shared = a.iter().filter(|w| b.binary_search(w).is_ok()).count();
    shared as f64 / shorter as f64
}

/// Descriptions at least this alike may be the same purchase.
const ALIKE: f64 = 0.5;
/// When the amount changed at posting, the descriptions must be at least this alike.
const ALIKE_WITHOUT_AMOUNT: f64 = 0.75;

/// Whether `post` may be the posted copy of `pend`: if so, whether the amount is the same, the
/// days between them and how alike their descriptions are.
fn fits(pend: &Candidate, post: &Candidate) -> Option<(bool, i64, f64)> {
    if pend.account != post.account {
        return None;
    }
    let days = match (pend.made, post.made) {
        (Some(a), Some(b)) if (b - a).num_days().abs() <= 1 => (b - a).num_days(),
        (Some(_), Some(_)) => return None,
        _ => (post.date - pend.date).num_days(),
    };
    if !(-1..=POSTING_DAYS).contains(&days) {
        return None;
    }
    let alike = alike(&pend.words, &post.words);
    if alike < ALIKE {
        return None;
    }
    let same_amount = pend.amount == post.amount;
    let close_amount = pend.amount.signum() == post.amount.signum()
        && post.amount.abs() * 2 >= pend.amount.abs()
        && post.amount.abs() * 2 <= pend.amount.abs() * 3;
    (same_amount || close_amount && alike >= ALIKE_WITHOUT_AMOUNT).then_some((
        same_amount,
        days,
        alike,
    ))
}

/// Which pending transaction each posted one replaces: `(pending index, posted index)` pairs,
/// each index at most once. Pending ones are taken in the order given (oldest first) when
/// several fit equally.
pub fn replacements(pending: &[Candidate], posted: &[Candidate]) -> Vec<(usize, usize)> {
    // Every pair that may be one purchase, with how good a fit it is (lower is better).
    let mut pairs = Vec::new();
    for (p, pend) in pending.iter().enumerate() {
        for (q, post) in posted.iter().enumerate() {
            let paired = pend.replaced_by.as_deref() == Some(post.id.as_str());
            let (same_amount, days, alike) = match fits(pend, post) {
                Some(fit) => fit,
                // A pairing made before stands while both are listed, whatever their dates by
                // now, unless a better one comes.
                None if paired => (true, 0, 1.0),
                None => continue,
            };
            let fit = (
                u8::from(!pend.gone),
                u8::from(!paired),
                u8::from(!same_amount),
                days.abs(),
                ((1.0 - alike) * 1000.0) as i64,
            );
            pairs.push((fit, p, q));
        }
    }
    pairs.sort();
    let mut pending_taken = vec![false; pending.len()];
    let mut posted_taken = vec![false; posted.len()];
    let mut out = Vec::new();
    for (_, p, q) in pairs {
        if !pending_taken[p] && !posted_taken[q] {
            pending_taken[p] = true;
            posted_taken[q] = true;
            out.push((p, q));
        }
    }
    out
}

/// Where a client's copy is: the store it synced from (its epoch), the last change it has,
/// and the store's version when the cursor was issued (which erasures of the log it has seen).
/// Opaque to the client (`<payload>.<mac>`), bound to the app user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncCursor {
    pub epoch: Uuid,
    pub seq: i64,
    pub version: i64,
}

impl SyncCursor {
    pub fn encode(&self, key: &MacKey, app_user_id: &str) -> String {
        let mut payload = self.epoch.as_bytes().to_vec();
        payload.extend_from_slice(&self.seq.to_be_bytes());
        payload.extend_from_slice(&self.version.to_be_bytes());
        let tag = key.sign(&[b"sync-cursor-v1", app_user_id.as_bytes(), &payload]);
        format!("{}.{}", B64.encode(payload), B64.encode(tag))
    }

    /// The cursor, if `value` is one issued to `app_user_id` with `key`. Cursors issued before
    /// stores had versions (24 bytes, without one) are at version 0.
    pub fn decode(key: &MacKey, app_user_id: &str, value: &str) -> Option<Self> {
        let (payload, tag) = value.split_once('.')?;
        let payload = B64.decode(payload).ok()?;
        let tag = B64.decode(tag).ok()?;
        if !matches!(payload.len(), 24 | 32)
            || !key.verify(&[b"sync-cursor-v1", app_user_id.as_bytes(), &payload], &tag)
        {
            return None;
        }
        let version = match payload.get(24..) {
            Some(v) if !v.is_empty() => i64::from_be_bytes(v.try_into().ok()?),
            _ => 0,
        };
        Some(Self {
            epoch: Uuid::from_slice(&payload[..16]).ok()?,
            seq: i64::from_be_bytes(payload[16..24].try_into().ok()?),
            version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn tx(id: &str, amount: &str, d: u32, description: &str) -> Candidate {
        Candidate::new(id, "acc-1", amount, None, day(d), description).unwrap()
    }

    #[test]
    fn amounts_are_read_exactly() {
        assert_eq!(parse_amount("-12.5"), Some(-125_000));
        assert_eq!(parse_amount("4.50"), Some(45_000));
        assert_eq!(parse_amount("1000"), Some(10_000_000));
        assert_eq!(parse_amount("0.0001"), Some(1));
        assert_eq!(parse_amount(""), None);
        assert_eq!(parse_amount("1e3"), None);
        assert_eq!(parse_amount("1.23456"), None);
        assert_eq!(parse_amount("-"), None);
    }

    #[test]
    fn a_posted_copy_replaces_its_pending_transaction() {
        let pending = [tx("p1", "-4.50", 2, "PENDING - CAFE BONDI 1234 SYDNEY")];
        let posted = [
            tx("x", "-4.50", 3, "WOOLWORTHS 1234 SYDNEY"),
            tx("c1", "-4.50", 3, "CAFE BONDI SYDNEY AUS"),
        ];
        assert_eq!(replacements(&pending, &posted), vec![(0, 1)]);
    }

    #[test]
    fn of_two_identical_coffees_one_posting_replaces_one() {
        let pending = [
            tx("p1", "-4.50", 2, "CAFE BONDI SYDNEY"),
            tx("p2", "-4.50", 2, "CAFE BONDI SYDNEY"),
        ];
        let one = [tx("c1", "-4.50", 3, "CAFE BONDI SYDNEY")];
        assert_eq!(replacements(&pending, &one), vec![(0, 0)]);
        let both = [
            tx("c1", "-4.50", 3, "CAFE BONDI SYDNEY"),
            tx("c2", "-4.50", 3, "CAFE BONDI SYDNEY"),
        ];
        let mut pairs = replacements(&pending, &both);
        pairs.sort();
        assert_eq!(pairs, vec![(0, 0), (1, 1)]);
    }

    #[test]
    fn a_pending_one_that_disappeared_is_the_one_a_posting_replaces() {
        let mut gone = tx("p1", "-4.50", 2, "CAFE BONDI SYDNEY");
        gone.gone = true;
        let pending = [tx("p2", "-4.50", 2, "CAFE BONDI SYDNEY"), gone];
        let posted = [tx("c1", "-4.50", 3, "CAFE BONDI SYDNEY")];
        assert_eq!(replacements(&pending, &posted), vec![(1, 0)]);
    }

    #[test]
    fn a_pending_one_that_disappeared_in_an_earlier_refresh_is_taken_before_one_basiq_lists() {
        // The bank dropped the first coffee's pending one a refresh before its posting came;
        // the second coffee, still pending, is another purchase.
        let mut dropped = tx("p1", "-4.50", 2, "CAFE BONDI SYDNEY");
        dropped.gone = true;
        let pending = [dropped, tx("p2", "-4.50", 2, "CAFE BONDI SYDNEY")];
        let posted = [tx("c1", "-4.50", 3, "CAFE BONDI SYDNEY")];
        assert_eq!(replacements(&pending, &posted), vec![(0, 0)]);
    }

    #[test]
    fn a_listed_pending_one_kept_out_comes_back_when_one_basiq_dropped_fits_its_posting() {
        // c1 replaced p1 while Basiq listed both coffees; now p2 has disappeared: it was p2
        // that posted, and p1, still listed, is another coffee.
        let mut kept_out = tx("p1", "-4.50", 2, "CAFE BONDI SYDNEY");
        kept_out.replaced_by = Some("c1".into());
        let mut dropped = tx("p2", "-4.50", 2, "CAFE BONDI SYDNEY");
        dropped.gone = true;
        let posted = [tx("c1", "-4.50", 3, "CAFE BONDI SYDNEY")];
        assert_eq!(replacements(&[kept_out, dropped], &posted), vec![(1, 0)]);
    }

    #[test]
    fn a_pairing_stands_while_both_are_listed_whatever_their_dates_by_then() {
        // A pending one without a transaction date is dated when seen: days later it no
        // longer fits its posting by date, but it stays replaced.
        let pending = tx("p1", "-4.50", 2, "CAFE BONDI SYDNEY");
        let posted = [tx(
            "c1",
            "-4.50",
            2 + POSTING_DAYS as u32 + 4,
            "CAFE BONDI SYDNEY",
        )];
        assert_eq!(
            replacements(std::slice::from_ref(&pending), &posted),
            vec![]
        );
        let mut paired = pending.clone();
        paired.replaced_by = Some("c1".into());
        assert_eq!(replacements(&[paired], &posted), vec![(0, 0)]);
        // And a new pending one that fits does not take the posting from it.
        let mut paired = pending;
        paired.replaced_by = Some("c1".into());
        let newer = tx("p0", "-4.50", 8, "CAFE BONDI SYDNEY");
        assert_eq!(replacements(&[newer, paired], &posted), vec![(1, 0)]);
    }

    #[test]
    fn transaction_dates_when_both_have_one_decide_the_day() {
        let mut pending = tx("p1", "-4.50", 2, "CAFE BONDI SYDNEY");
        pending.made = Some(day(2));
        let mut same_day = tx("c1", "-4.50", 3, "CAFE BONDI SYDNEY");
        same_day.made = Some(day(2));
        let mut day_before = same_day.clone();
        day_before.made = Some(day(1) - chrono::TimeDelta::days(1));
        assert_eq!(replacements(&[pending.clone()], &[same_day]), vec![(0, 0)]);
        assert_eq!(replacements(&[pending], &[day_before]), vec![]);
    }

    #[test]
    fn an_amount_that_changes_at_posting_still_matches_when_the_description_is_alike() {
        let tip = [tx("p1", "-50.00", 2, "THE GROUNDS ALEXANDRIA")];
        let posted = [tx("c1", "-57.50", 3, "THE GROUNDS ALEXANDRIA NSW")];
        assert_eq!(replacements(&tip, &posted), vec![(0, 0)]);
        let hold = [tx("p1", "-300.00", 1, "HILTON SYDNEY")];
        let posted = [tx("c1", "-212.40", 4, "HILTON SYDNEY")];
        assert_eq!(replacements(&hold, &posted), vec![(0, 0)]);
        // The same amount wins over a changed one.
        let pending = [
            tx("p1", "-20.00", 2, "UBER TRIP SYDNEY"),
            tx("p2", "-23.00", 2, "UBER TRIP SYDNEY"),
        ];
        let posted = [tx("c1", "-23.00", 3, "UBER TRIP SYDNEY")];
        assert_eq!(replacements(&pending, &posted), vec![(1, 0)]);
    }

    #[test]
    fn what_is_not_the_same_purchase_is_not_matched() {
        let pending = [tx("p1", "-4.50", 2, "CAFE BONDI SYDNEY")];
        // Another account, too late, too early, another shop, another sign, far another amount.
        let mut other_account = tx("c", "-4.50", 3, "CAFE BONDI SYDNEY");
        other_account.account = "acc-2".into();
        for posted in [
            other_account,
            tx("c", "-4.50", 9, "CAFE BONDI SYDNEY"),
            tx("c", "-4.50", 2, "CAFE BONDI SYDNEY").with_date(day(1) - chrono::TimeDelta::days(1)),
            tx("c", "-4.50", 3, "WOOLWORTHS METRO"),
            tx("c", "4.50", 3, "CAFE BONDI SYDNEY"),
            tx("c", "-45.00", 3, "CAFE BONDI SYDNEY"),
        ] {
            assert_eq!(
                replacements(&pending, std::slice::from_ref(&posted)),
                vec![],
                "{posted:?}"
            );
        }
    }

    impl Candidate {
        fn with_date(mut self, date: NaiveDate) -> Self {
            self.date = date;
            self
        }
    }

    #[test]
    fn a_sync_cursor_opens_only_for_its_user_and_unedited() {
        let key = MacKey::derive(&secrecy::SecretBox::new(Box::new([5u8; 32])), "test/sync");
        let cursor = SyncCursor {
            epoch: Uuid::new_v4(),
            seq: 1234,
            version: 2,
        };
        let value = cursor.encode(&key, "alice");
        assert_eq!(SyncCursor::decode(&key, "alice", &value), Some(cursor));
        // One issued before cursors carried a version is at version 0.
        let mut old = cursor.epoch.as_bytes().to_vec();
        old.extend_from_slice(&1234i64.to_be_bytes());
        let tag = key.sign(&[b"sync-cursor-v1", b"alice", &old]);
        let old = format!("{}.{}", B64.encode(old), B64.encode(tag));
        assert_eq!(
            SyncCursor::decode(&key, "alice", &old),
            Some(SyncCursor {
                version: 0,
                ..cursor
            })
        );
        assert_eq!(SyncCursor::decode(&key, "bob", &value), None);
        let edited = SyncCursor { seq: 1, ..cursor }.encode(&key, "bob");
        assert_eq!(SyncCursor::decode(&key, "alice", &edited), None);
        assert_eq!(SyncCursor::decode(&key, "alice", "garbage"), None);
        assert_eq!(SyncCursor::decode(&key, "alice", "a.b"), None);
    }
}

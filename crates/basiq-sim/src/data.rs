//! Deterministic generator of a connection's accounts and transactions.
//!
//! Everything derives from one 64-bit seed (the configured seed mixed with stable inputs: the
//! user's creation order, the connection's order within the user, the institution and the
//! login id), through SplitMix64, so the same inputs always give the same data. Dates count back
//! from the day the connection is made, so the data always looks recent. The tables drawn from
//! are beside it: merchants, their categories and shops (`merchants`), and the people who hold
//! the accounts (`people`).

use chrono::{Days, NaiveDate};

mod merchants;
mod people;

pub use merchants::{Anzsic, BillPay, Code, Merchant, Shop};
use merchants::{Biller, CARD_MERCHANTS, NETFLIX, ORIGIN, SPOTIFY, TELSTRA, UNLISTED, Unlisted};
pub use people::{Known, Profile};

/// SplitMix64: tiny, fast, and good enough for plausible test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = (hi - lo + 1) as u64;
        lo + (self.next_u64() % span) as i64
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }

    /// A UUID-shaped id (version 4 layout) drawn from the generator.
    pub fn uuid(&mut self) -> String {
        let bytes = ((self.next_u64() as u128) << 64) | self.next_u64() as u128;
        uuid::Builder::from_random_bytes(bytes.to_be_bytes())
            .into_uuid()
            .to_string()
    }
}

/// Mixes stable inputs into one seed (FNV-1a over the bytes, then SplitMix64).
pub fn mix(seed: u64, parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for part in parts {
        for b in part.iter().chain(std::iter::once(&0xff)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
    }
    Rng::new(h).next_u64()
}

#[derive(Clone, Debug)]
pub struct Account {
    pub id: String,
    pub name: &'static str,
    pub class: &'static str,
    pub product: &'static str,
    /// `accountNo`: BSB and number run together; for a card, its masked PAN.
    pub account_no: String,
    pub masked_number: String,
    /// BSB and unmasked number; `None` for a card, whose number is a PAN Basiq never unmasks.
    pub bsb_number: Option<(String, String)>,
    /// Last four digits of the card that draws on the account, if one does.
    pub card: Option<String>,
    pub opened: NaiveDate,
    pub balance_cents: i64,
    pub available_cents: i64,
    pub credit_limit_cents: Option<i64>,
    pub loan: Option<Loan>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A loan account's terms beyond its balance.
#[derive(Clone, Debug)]
pub struct Loan {
    pub original_cents: i64,
    pub instalment_cents: i64,
    pub redraw_cents: i64,
}

#[derive(Clone, Debug)]
pub struct Transaction {
    pub id: String,
    pub account: usize,
    pub pending: bool,
    pub description: String,
    pub reference: String,
    pub amount_cents: i64,
    pub balance_cents: i64,
    pub class: &'static str,
    /// The ANZSIC group of a payment; Basiq leaves `subClass` empty on every other class.
    pub sub_class: Option<Code>,
    pub enrich: Enrich,
    pub payment_details: Option<PaymentDetails>,
    pub transaction_date: NaiveDate,
    /// `None` while pending.
    pub post_date: Option<NaiveDate>,
}

impl Transaction {
    pub fn direction(&self) -> &'static str {
        if self.amount_cents < 0 {
            "debit"
        } else {
            "credit"
        }
    }

    pub fn status(&self) -> &'static str {
        if self.pending { "pending" } else { "posted" }
    }
}

/// What Basiq's classification engine adds to a transaction; any part of it may be unknown.
#[derive(Clone, Debug)]
pub struct Enrich {
    pub clean_description: &'static str,
    pub tags: Vec<String>,
    pub merchant: Option<&'static Merchant>,
    pub category: Option<Category>,
    /// The shop: online purchases, and some made in shops Basiq cannot place, have none.
    pub location: Option<&'static Shop>,
}

impl Enrich {
    /// What Basiq knows of a transfer, salary or fee: a readable description and tags only.
    fn plain(clean_description: &'static str, tags: &[&str]) -> Self {
        Self {
            clean_description,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            merchant: None,
            category: None,
            location: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Category {
    /// One of Basiq's `merchantFull`, `merchantPartial`, `mcc`, `ml`, `none`.
    pub match_type: &'static str,
    /// In hundredths: 100 is Basiq's `"1.0"`.
    pub score: u8,
    pub mcc: Option<Code>,
    pub anzsic: &'static Anzsic,
}

impl Category {
    /// Basiq's `matchScore`, a decimal string.
    pub fn match_score(&self) -> String {
        if self.score >= 100 {
            "1.0".to_owned()
        } else {
            format!("0.{:02}", self.score)
        }
    }
}

#[derive(Clone, Debug)]
pub enum PaymentDetails {
    Bpay {
        biller_code: &'static str,
        biller_name: &'static str,
        crn: String,
    },
    /// The APCA number of the institution that initiated a direct entry.
    Apca(&'static str),
}

/// A connection's generated data; transactions sorted newest first, then by id.
#[derive(Clone, Debug)]
pub struct ConnectionData {
    pub accounts: Vec<Account>,
    pub transactions: Vec<Transaction>,
    pub profile: Profile,
}

/// The employer's APCA number on salary credits.
const PAYROLL_APCA_NUMBER: &str = "483172";
const LOAN_REPAYMENT_CENTS: i64 = 285_000;

/// What a generated transaction is: it decides the description, class and enrichment.
#[derive(Clone, Copy)]
enum Kind {
    Purchase(&'static Merchant),
    Refund(&'static Merchant),
    Unlisted(&'static Unlisted),
    Bill(&'static Biller),
    Salary,
    Transfer(&'static str),
    Atm,
    AccountFee,
    CreditInterest,
    CardRepayment,
    LoanRepayment,
    LoanInterest,
}

/// A card purchase's merchant, drawn by weight.
fn card_merchant(rng: &mut Rng) -> &'static Merchant {
    let total: u32 = CARD_MERCHANTS.iter().map(|m| m.weight).sum();
    let mut draw = rng.range(0, i64::from(total) - 1) as u32;
    CARD_MERCHANTS
        .iter()
        .find(|m| {
            let here = draw < m.weight;
            draw = draw.saturating_sub(m.weight);
            here
        })
        .expect("the draw is below the total weight")
}

/// Transactions as they are generated, with what each needs to know of its account.
struct Ledger {
    rng: Rng,
    /// Per account, the last four digits of its card.
    cards: Vec<Option<String>>,
    /// The customer reference number on this customer's BPAY bills.
    crn: String,
    txs: Vec<Transaction>,
}

impl Ledger {
    fn push(&mut self, account: usize, kind: Kind, amount_cents: i64, date: NaiveDate) {
        let id = self.rng.uuid();
        let reference = format!("{:010}", self.rng.range(0, 9_999_999_999));
        let card = self.cards[account].as_ref().map(|c| format!("card:{c}"));
        let rng = &mut self.rng;
        let mut payment_details = None;
        let (description, class, sub_class, enrich) = match kind {
            Kind::Purchase(m) | Kind::Refund(m) => {
                let (description, shop) = m.outlet(rng);
                // Basiq places most purchases in their shop, but not every one.
                let location = shop.filter(|_| rng.range(0, 19) > 0);
                let mut tags: Vec<String> = card.into_iter().collect();
                if location.is_some() && rng.range(0, 3) == 0 {
                    tags.push("third-party:apple pay".to_owned());
                }
                let (match_type, score) = if rng.range(0, 9) > 0 {
                    ("merchantFull", 100)
                } else {
                    ("merchantPartial", rng.range(80, 95) as u8)
                };
                let enrich = Enrich {
                    clean_description: m.name,
                    tags,
                    merchant: Some(m),
                    category: Some(Category {
                        match_type,
                        score,
                        mcc: m.mcc,
                        anzsic: m.anzsic,
                    }),
                    location,
                };
                if matches!(kind, Kind::Refund(_)) {
                    (format!("REFUND {description}"), "refund", None, enrich)
                } else {
                    let group = Some(m.anzsic.group);
                    (description.to_owned(), "payment", group, enrich)
                }
            }
            Kind::Unlisted(u) => {
                let enrich = Enrich {
                    clean_description: u.clean_description,
                    tags: card.into_iter().chain([u.tag.to_owned()]).collect(),
                    merchant: None,
                    category: Some(Category {
                        match_type: "mcc",
                        score: rng.range(60, 85) as u8,
                        mcc: Some(u.mcc),
                        anzsic: u.anzsic,
                    }),
                    location: None,
                };
                let group = Some(u.anzsic.group);
                (u.description.to_owned(), "payment", group, enrich)
            }
            Kind::Bill(b) => {
                let m = &b.merchant;
                payment_details = Some(match b.pay {
                    BillPay::Bpay {
                        biller_code,
                        biller_name,
                    } => PaymentDetails::Bpay {
                        biller_code,
                        biller_name,
                        crn: self.crn.clone(),
                    },
                    BillPay::DirectDebit { apca_number } => PaymentDetails::Apca(apca_number),
                });
                let enrich = Enrich {
                    clean_description: m.name,
                    tags: Vec::new(),
                    merchant: Some(m),
                    category: Some(Category {
                        match_type: "merchantFull",
                        score: 100,
                        mcc: m.mcc,
                        anzsic: m.anzsic,
                    }),
                    location: None,
                };
                let description = m.outlet(rng).0.to_owned();
                (description, "payment", Some(m.anzsic.group), enrich)
            }
            Kind::Salary => {
                payment_details = Some(PaymentDetails::Apca(PAYROLL_APCA_NUMBER));
                let enrich = Enrich::plain("Salary", &["income:salary"]);
                (
                    "SALARY HOOLI PTY LTD".to_owned(),
                    "direct-credit",
                    None,
                    enrich,
                )
            }
            Kind::Transfer(description) => {
                let enrich = Enrich::plain(description, &[]);
                (description.to_owned(), "transfer", None, enrich)
            }
            Kind::Atm => {
                let mut enrich = Enrich::plain("ATM Withdrawal", &["conduct:atm"]);
                enrich.tags.extend(card);
                let description = "ATM WITHDRAWAL HOOLI ATM SYDNEY".to_owned();
                (description, "cash-withdrawal", None, enrich)
            }
            Kind::AccountFee => {
                let enrich = Enrich::plain("Monthly Account Fee", &["conduct:admin"]);
                ("MONTHLY ACCOUNT FEE".to_owned(), "bank-fee", None, enrich)
            }
            Kind::CreditInterest => {
                let enrich = Enrich::plain("Credit Interest", &[]);
                ("CREDIT INTEREST".to_owned(), "interest", None, enrich)
            }
            Kind::CardRepayment => {
                let enrich = Enrich::plain("Payment Received", &["creditCard:creditCard"]);
                let description = "PAYMENT RECEIVED - THANK YOU".to_owned();
                (description, "transfer", None, enrich)
            }
            Kind::LoanRepayment => {
                let enrich = Enrich::plain("Loan Repayment", &["mortgage:mortgage repayment"]);
                ("LOAN REPAYMENT".to_owned(), "loan-repayment", None, enrich)
            }
            Kind::LoanInterest => {
                let enrich = Enrich::plain("Loan Interest", &["conduct:interest"]);
                ("LOAN INTEREST".to_owned(), "loan-interest", None, enrich)
            }
        };
        self.txs.push(Transaction {
            id,
            account,
            pending: false,
            description,
            reference,
            amount_cents,
            balance_cents: 0,
            class,
            sub_class,
            enrich,
            payment_details,
            transaction_date: date,
            post_date: Some(date),
        });
    }
}

pub struct Generated;

impl Generated {
    /// Generates a connection's data from its seed and what is known of the person logging in;
    /// `today` anchors the dates.
    pub fn connection(seed: u64, today: NaiveDate, known: &Known) -> ConnectionData {
        let mut rng = Rng::new(seed);
        let profile = Profile::of(known);
        let bsb = format!("{:03}{:03}", rng.range(10, 999), rng.range(0, 999));
        // Each opened between `years.0` and `years.1` years ago.
        let account = |rng: &mut Rng, name, class, product, years: (i64, i64)| {
            let opened = today - Days::new(rng.range(years.0 * 365, years.1 * 365) as u64);
            let number = format!("{:08}", rng.range(0, 99_999_999));
            Account {
                id: rng.uuid(),
                name,
                class,
                product,
                account_no: format!("{bsb}{number}"),
                masked_number: format!("xxxx{}", &number[4..]),
                bsb_number: Some((bsb.clone(), number)),
                card: None,
                opened,
                balance_cents: 0,
                available_cents: 0,
                credit_limit_cents: None,
                loan: None,
                from: today,
                to: today,
            }
        };
        let mut everyday = account(
            &mut rng,
            "Everyday Account",
            "transaction",
            "Hooli Everyday",
            (3, 12),
        );
        everyday.card = Some(format!("{:04}", rng.range(0, 9_999)));
        let saver = account(&mut rng, "Online Saver", "savings", "Hooli Saver", (1, 6));
        let mut card = account(
            &mut rng,
            "Platinum Credit Card",
            "credit-card",
            "Hooli Platinum",
            (1, 5),
        );
        // A card account's number is its PAN: shown masked, never with a BSB.
        let last4 = format!("{:04}", rng.range(0, 9_999));
        card.account_no = format!("462263xxxxxx{last4}");
        card.masked_number = format!("xxxx xxxx xxxx {last4}");
        card.bsb_number = None;
        card.card = Some(last4);
        let mortgage = account(
            &mut rng,
            "Home Loan",
            "mortgage",
            "Hooli Variable Home Loan",
            (2, 8),
        );
        let mut accounts = vec![everyday, saver, card, mortgage];

        let crn = format!("{:010}", rng.range(0, 9_999_999_999));
        let mut g = Ledger {
            rng,
            cards: accounts.iter().map(|a| a.card.clone()).collect(),
            crn,
            txs: Vec::new(),
        };
        let days_back = 180i64;
        let date = |back: i64| today - Days::new(back as u64);

        // Everyday: salary every 14 days, bills, card spending, transfers to savings, fees.
        let everyday = g.rng.range(330, 370);
        for _ in 0..everyday {
            let back = g.rng.range(0, days_back);
            let roll = g.rng.range(0, 99);
            let (kind, amount) = if roll < 4 {
                let amount = -g.rng.range(5_000, 60_000);
                (Kind::Transfer("Transfer to Online Saver"), amount)
            } else if roll < 6 {
                (Kind::Atm, -g.rng.range(2, 20) * 1_000)
            } else if roll < 7 {
                (Kind::AccountFee, -500)
            } else if roll < 9 {
                let m = card_merchant(&mut g.rng);
                (Kind::Refund(m), g.rng.range(m.min_cents, m.max_cents))
            } else if roll < 13 {
                let u = g.rng.pick(UNLISTED);
                (Kind::Unlisted(u), -g.rng.range(u.min_cents, u.max_cents))
            } else {
                let m = card_merchant(&mut g.rng);
                (Kind::Purchase(m), -g.rng.range(m.min_cents, m.max_cents))
            };
            g.push(0, kind, amount, date(back));
        }
        for payday in (0..days_back).step_by(14) {
            let amount = g.rng.range(380_000, 430_000);
            g.push(0, Kind::Salary, amount, date(payday + 3));
        }
        for month in 0..6 {
            for (biller, day) in [(&ORIGIN, 20), (&TELSTRA, 6)] {
                let m = &biller.merchant;
                let amount = -g.rng.range(m.min_cents, m.max_cents);
                g.push(0, Kind::Bill(biller), amount, date(month * 30 + day));
            }
        }
        // Savings: transfers in, monthly interest.
        let savings = g.rng.range(120, 140);
        for _ in 0..savings {
            let back = g.rng.range(0, days_back);
            let (kind, amount) = if g.rng.range(0, 9) < 8 {
                let amount = g.rng.range(5_000, 60_000);
                (Kind::Transfer("Transfer from Everyday Account"), amount)
            } else {
                let amount = -g.rng.range(10_000, 80_000);
                (Kind::Transfer("Transfer to Everyday Account"), amount)
            };
            g.push(1, kind, amount, date(back));
        }
        for month in 0..6 {
            let amount = g.rng.range(800, 4_500);
            g.push(1, Kind::CreditInterest, amount, date(month * 30 + 1));
        }
        // Credit card: purchases, two monthly subscriptions, monthly repayments.
        let card = g.rng.range(260, 300);
        for _ in 0..card {
            let back = g.rng.range(0, days_back);
            let (kind, amount) = if g.rng.range(0, 99) < 4 {
                let u = g.rng.pick(UNLISTED);
                (Kind::Unlisted(u), -g.rng.range(u.min_cents, u.max_cents))
            } else {
                let m = card_merchant(&mut g.rng);
                (Kind::Purchase(m), -g.rng.range(m.min_cents, m.max_cents))
            };
            g.push(2, kind, amount, date(back));
        }
        for (m, day) in [(&NETFLIX, 4), (&SPOTIFY, 12)] {
            // One plan each, priced at whole dollars less a cent.
            let price = g.rng.range(m.min_cents / 100, m.max_cents / 100) * 100 - 1;
            for month in 0..6 {
                g.push(2, Kind::Purchase(m), -price, date(month * 30 + day));
            }
        }
        // Each statement is paid in full: the thirty days of purchases before the payment.
        for month in 0..6 {
            let paid_on = date(month * 30 + 10);
            let statement = paid_on - Days::new(30)..paid_on;
            let spent: i64 = g
                .txs
                .iter()
                .filter(|t| t.account == 2 && t.amount_cents < 0)
                .filter(|t| statement.contains(&t.transaction_date))
                .map(|t| -t.amount_cents)
                .sum();
            g.push(2, Kind::CardRepayment, spent, paid_on);
        }
        // Mortgage: monthly repayment and interest.
        for month in 0..6 {
            g.push(
                3,
                Kind::LoanRepayment,
                LOAN_REPAYMENT_CENTS,
                date(month * 30 + 15),
            );
            let interest = -g.rng.range(190_000, 215_000);
            g.push(3, Kind::LoanInterest, interest, date(month * 30 + 28));
        }
        let Ledger {
            mut rng, mut txs, ..
        } = g;

        // Posting: the last 2 days are pending; others post 0-2 days after the transaction.
        for t in &mut txs {
            let age = (today - t.transaction_date).num_days();
            if age <= 1 && t.account != 3 {
                t.pending = true;
                t.post_date = None;
            } else {
                let lag = rng.range(0, 2).min(age);
                t.post_date = Some(t.transaction_date + Days::new(lag as u64));
            }
        }

        // Running balances, oldest first, per account.
        let opening = [
            rng.range(500_000, 1_500_000),
            rng.range(500_000, 3_000_000),
            -rng.range(50_000, 300_000),
            -rng.range(40_000_000, 70_000_000),
        ];
        txs.sort_by(|a, b| {
            a.transaction_date
                .cmp(&b.transaction_date)
                .then_with(|| a.id.cmp(&b.id))
        });
        let mut running = opening;
        for t in &mut txs {
            running[t.account] += t.amount_cents;
            t.balance_cents = running[t.account];
        }
        let limits = [None, None, Some(1_500_000), None];
        for (i, a) in accounts.iter_mut().enumerate() {
            a.balance_cents = running[i];
            a.credit_limit_cents = limits[i];
            a.available_cents = match limits[i] {
                Some(limit) => limit + running[i],
                None if running[i] > 0 => running[i],
                None => 0,
            };
            a.from = today - Days::new(days_back as u64 + 3);
            a.to = today;
        }
        // The home loan was larger when drawn, in whole thousands; some is paid ahead.
        accounts[3].loan = Some(Loan {
            original_cents: -opening[3] * rng.range(110, 130) / 100 / 100_000 * 100_000,
            instalment_cents: LOAN_REPAYMENT_CENTS,
            redraw_cents: rng.range(500, 4_000) * 1_000,
        });
        txs.sort_by(|a, b| sort_key(b).cmp(&sort_key(a)).then_with(|| a.id.cmp(&b.id)));
        ConnectionData {
            accounts,
            transactions: txs,
            profile,
        }
    }
}

/// Newest first: pending (no post date) before posted, then by date.
pub fn sort_key(t: &Transaction) -> (NaiveDate, NaiveDate) {
    (t.post_date.unwrap_or(NaiveDate::MAX), t.transaction_date)
}

/// Cents as Basiq's decimal string: `-1234.50`.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOBODY: Known = Known {
        seed: 1,
        login_id: "Wentworth-Smith",
        first_name: "",
        middle_name: "",
        last_name: "",
        email: "",
        mobile: "",
    };

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_data() {
        let a = Generated::connection(7, day(), &NOBODY);
        let b = Generated::connection(7, day(), &NOBODY);
        assert_eq!(a.transactions.len(), b.transactions.len());
        assert!(a.transactions.len() >= 700);
        assert_eq!(a.transactions[10].id, b.transactions[10].id);
        let enrich = |d: &ConnectionData| format!("{:?}", d.transactions[10].enrich);
        assert_eq!(enrich(&a), enrich(&b));
        let c = Generated::connection(8, day(), &NOBODY);
        assert_ne!(a.transactions[10].id, c.transactions[10].id);
    }

    #[test]
    fn about_four_card_purchases_in_five_are_fully_enriched() {
        let data = Generated::connection(42, day(), &NOBODY);
        let purchases: Vec<&Enrich> = data
            .transactions
            .iter()
            .filter(|t| t.class == "payment" && t.payment_details.is_none())
            .map(|t| &t.enrich)
            .collect();
        let full = purchases
            .iter()
            .filter(|e| e.merchant.is_some() && e.category.is_some() && e.location.is_some())
            .count();
        let share = full as f64 / purchases.len() as f64;
        assert!((0.72..=0.88).contains(&share), "{share}");
        assert!(purchases.iter().any(|e| e.merchant.is_none()));
        assert!(
            purchases
                .iter()
                .any(|e| e.location.is_none() && e.merchant.is_some())
        );
    }

    #[test]
    fn transfers_salary_and_cash_carry_no_merchant_category_or_location() {
        let data = Generated::connection(42, day(), &NOBODY);
        let plain = [
            "transfer",
            "direct-credit",
            "cash-withdrawal",
            "bank-fee",
            "interest",
        ];
        for t in data
            .transactions
            .iter()
            .filter(|t| plain.contains(&t.class))
        {
            let e = &t.enrich;
            assert!(e.merchant.is_none() && e.category.is_none() && e.location.is_none());
            assert!(!e.clean_description.is_empty());
            assert!(t.sub_class.is_none(), "{}", t.description);
        }
    }

    #[test]
    fn match_scores_are_decimal_strings() {
        let category = |score| Category {
            match_type: "mcc",
            score,
            mcc: None,
            anzsic: &merchants::SUPERMARKETS,
        };
        assert_eq!(category(100).match_score(), "1.0");
        assert_eq!(category(87).match_score(), "0.87");
        assert_eq!(category(5).match_score(), "0.05");
    }

    #[test]
    fn money_is_a_decimal_string() {
        assert_eq!(money(-123_450), "-1234.50");
        assert_eq!(money(5), "0.05");
    }
}

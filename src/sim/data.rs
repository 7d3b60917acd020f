//! Deterministic generator of a connection's accounts and transactions.
//!
//! Everything derives from one 64-bit seed (the configured seed mixed with stable inputs: the
//! user's creation order, the connection's order within the user, the institution and the
//! login id), through SplitMix64, so the same inputs always give the same data. Dates count back
//! from the day the connection is made, so the data always looks recent. The people who hold
//! the accounts are beside it (`people`).

use chrono::{Days, NaiveDate};

mod people;

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
    pub sub_class: (&'static str, &'static str),
    pub merchant: Option<&'static Merchant>,
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

/// A connection's generated data; transactions sorted newest first, then by id.
#[derive(Debug)]
pub struct ConnectionData {
    pub accounts: Vec<Account>,
    pub transactions: Vec<Transaction>,
    pub profile: Profile,
}

#[derive(Debug)]
pub struct Merchant {
    pub name: &'static str,
    pub description: &'static str,
    pub abn: &'static str,
    pub website: &'static str,
    pub sub_class: (&'static str, &'static str),
    pub min_cents: i64,
    pub max_cents: i64,
}

const fn m(
    name: &'static str,
    description: &'static str,
    abn: &'static str,
    website: &'static str,
    sub_class: (&'static str, &'static str),
    min_cents: i64,
    max_cents: i64,
) -> Merchant {
    Merchant {
        name,
        description,
        abn,
        website,
        sub_class,
        min_cents,
        max_cents,
    }
}

static SPENDING: &[Merchant] = &[
    m(
        "Woolworths",
        "WOOLWORTHS 1234 SYDNEY NS AUS",
        "88000014675",
        "woolworths.com.au",
        ("411", "Supermarket and Grocery Stores"),
        1200,
        24000,
    ),
    m(
        "Coles",
        "COLES 0456 MELBOURNE VI AUS",
        "45004189708",
        "coles.com.au",
        ("411", "Supermarket and Grocery Stores"),
        900,
        21000,
    ),
    m(
        "Aldi",
        "ALDI STORES BRISBANE QL AUS",
        "90156508001",
        "aldi.com.au",
        ("411", "Supermarket and Grocery Stores"),
        1500,
        16000,
    ),
    m(
        "Uber",
        "UBER *TRIP HELP.UBER.COM",
        "80160929713",
        "uber.com",
        ("464", "Taxi and Other Road Transport"),
        900,
        6500,
    ),
    m(
        "Netflix",
        "NETFLIX.COM MELBOURNE AUS",
        "33613220013",
        "netflix.com",
        ("561", "Motion Picture and Video Activities"),
        1099,
        2299,
    ),
    m(
        "Spotify",
        "SPOTIFY P1A2B3C4 SYDNEY",
        "60600154707",
        "spotify.com",
        ("602", "Other Information Services"),
        1199,
        1799,
    ),
    m(
        "Telstra",
        "TELSTRA PREPAID MELBOURNE",
        "33051775556",
        "telstra.com.au",
        ("580", "Telecommunications Services"),
        3000,
        12000,
    ),
    m(
        "Origin Energy",
        "ORIGIN ENERGY BPAY",
        "30000051696",
        "originenergy.com.au",
        ("263", "Electricity Distribution"),
        8000,
        42000,
    ),
    m(
        "Caltex",
        "CALTEX STARMART PARRAMATTA",
        "17000032128",
        "caltex.com.au",
        ("400", "Fuel Retailing"),
        3000,
        11000,
    ),
    m(
        "McDonald's",
        "MCDONALDS NEWTOWN NSW",
        "43005496928",
        "mcdonalds.com.au",
        ("451", "Cafes, Restaurants and Takeaway Food Services"),
        600,
        3500,
    ),
    m(
        "JB Hi-Fi",
        "JB HI FI ONLINE SOUTHBANK",
        "37093114286",
        "jbhifi.com.au",
        ("422", "Electrical, Electronic and Gas Appliance Retailing"),
        2000,
        99900,
    ),
    m(
        "Bunnings",
        "BUNNINGS 380000 ALEXANDRIA",
        "26008672179",
        "bunnings.com.au",
        ("423", "Hardware, Building and Garden Supplies Retailing"),
        1500,
        35000,
    ),
    m(
        "Chemist Warehouse",
        "CHEMIST WAREHOUSE BONDI",
        "68102532981",
        "chemistwarehouse.com.au",
        ("427", "Pharmaceutical and Other Store-Based Retailing"),
        700,
        9000,
    ),
    m(
        "Qantas",
        "QANTAS AIRWAYS MASCOT",
        "16009661901",
        "qantas.com",
        ("490", "Air and Space Transport"),
        12000,
        89000,
    ),
    m(
        "Kmart",
        "KMART 1077 CHATSWOOD",
        "73004700485",
        "kmart.com.au",
        ("425", "Department Stores"),
        800,
        15000,
    ),
    m(
        "Guzman y Gomez",
        "GUZMAN Y GOMEZ SURRY HILLS",
        "28125769436",
        "guzmanygomez.com.au",
        ("451", "Cafes, Restaurants and Takeaway Food Services"),
        1400,
        4200,
    ),
];

static EMPLOYER: Merchant = m(
    "Hooli Pty Ltd",
    "SALARY HOOLI PTY LTD",
    "51824753556",
    "hooli.xyz",
    ("", ""),
    0,
    0,
);

const LOAN_REPAYMENT_CENTS: i64 = 285_000;

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
                opened,
                balance_cents: 0,
                available_cents: 0,
                credit_limit_cents: None,
                loan: None,
                from: today,
                to: today,
            }
        };
        let everyday = account(
            &mut rng,
            "Everyday Account",
            "transaction",
            "Hooli Everyday",
            (3, 12),
        );
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
        let mortgage = account(
            &mut rng,
            "Home Loan",
            "mortgage",
            "Hooli Variable Home Loan",
            (2, 8),
        );
        let mut accounts = vec![everyday, saver, card, mortgage];
        let mut txs: Vec<Transaction> = Vec::new();
        let days_back = 180i64;
        let date = |back: i64| today - Days::new(back as u64);

        // Everyday: salary every 14 days, card spending, transfers to savings, fees.
        let everyday = rng.range(330, 370);
        for _ in 0..everyday {
            let back = rng.range(0, days_back);
            let roll = rng.range(0, 99);
            if roll < 4 {
                txs.push(tx(
                    0,
                    "Transfer to Online Saver",
                    "transfer",
                    ("", ""),
                    None,
                    -rng.range(5_000, 60_000),
                    date(back),
                    &mut rng,
                ));
            } else if roll < 6 {
                txs.push(tx(
                    0,
                    "ATM WITHDRAWAL HOOLI ATM SYDNEY",
                    "cash-withdrawal",
                    ("", ""),
                    None,
                    -rng.range(2, 20) * 1_000,
                    date(back),
                    &mut rng,
                ));
            } else if roll < 7 {
                txs.push(tx(
                    0,
                    "MONTHLY ACCOUNT FEE",
                    "bank-fee",
                    ("", ""),
                    None,
                    -500,
                    date(back),
                    &mut rng,
                ));
            } else if roll < 9 {
                let merchant = rng.pick(SPENDING);
                let amount = rng.range(merchant.min_cents, merchant.max_cents);
                txs.push(tx(
                    0,
                    &format!("REFUND {}", merchant.description),
                    "refund",
                    merchant.sub_class,
                    Some(merchant),
                    amount,
                    date(back),
                    &mut rng,
                ));
            } else {
                let merchant = rng.pick(SPENDING);
                let amount = rng.range(merchant.min_cents, merchant.max_cents);
                txs.push(tx(
                    0,
                    merchant.description,
                    "payment",
                    merchant.sub_class,
                    Some(merchant),
                    -amount,
                    date(back),
                    &mut rng,
                ));
            }
        }
        for payday in (0..days_back).step_by(14) {
            let amount = rng.range(310_000, 360_000);
            txs.push(tx(
                0,
                EMPLOYER.description,
                "direct-credit",
                EMPLOYER.sub_class,
                Some(&EMPLOYER),
                amount,
                date(payday + 3),
                &mut rng,
            ));
        }
        // Savings: transfers in, monthly interest.
        let savings = rng.range(120, 140);
        for _ in 0..savings {
            let back = rng.range(0, days_back);
            if rng.range(0, 9) < 8 {
                txs.push(tx(
                    1,
                    "Transfer from Everyday Account",
                    "transfer",
                    ("", ""),
                    None,
                    rng.range(5_000, 60_000),
                    date(back),
                    &mut rng,
                ));
            } else {
                txs.push(tx(
                    1,
                    "Transfer to Everyday Account",
                    "transfer",
                    ("", ""),
                    None,
                    -rng.range(10_000, 80_000),
                    date(back),
                    &mut rng,
                ));
            }
        }
        for month in 0..6 {
            txs.push(tx(
                1,
                "CREDIT INTEREST",
                "interest",
                ("", ""),
                None,
                rng.range(800, 4_500),
                date(month * 30 + 1),
                &mut rng,
            ));
        }
        // Credit card: purchases and monthly repayments.
        let card = rng.range(260, 300);
        for _ in 0..card {
            let back = rng.range(0, days_back);
            let merchant = rng.pick(SPENDING);
            let amount = rng.range(merchant.min_cents, merchant.max_cents);
            txs.push(tx(
                2,
                merchant.description,
                "payment",
                merchant.sub_class,
                Some(merchant),
                -amount,
                date(back),
                &mut rng,
            ));
        }
        for month in 0..6 {
            txs.push(tx(
                2,
                "PAYMENT RECEIVED - THANK YOU",
                "transfer",
                ("", ""),
                None,
                rng.range(80_000, 250_000),
                date(month * 30 + 10),
                &mut rng,
            ));
        }
        // Mortgage: monthly repayment and interest.
        for month in 0..6 {
            txs.push(tx(
                3,
                "LOAN REPAYMENT",
                "loan-repayment",
                ("", ""),
                None,
                LOAN_REPAYMENT_CENTS,
                date(month * 30 + 15),
                &mut rng,
            ));
            txs.push(tx(
                3,
                "LOAN INTEREST",
                "loan-interest",
                ("", ""),
                None,
                -rng.range(190_000, 215_000),
                date(month * 30 + 28),
                &mut rng,
            ));
        }

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

#[allow(clippy::too_many_arguments)]
fn tx(
    account: usize,
    description: &str,
    class: &'static str,
    sub_class: (&'static str, &'static str),
    merchant: Option<&'static Merchant>,
    amount_cents: i64,
    transaction_date: NaiveDate,
    rng: &mut Rng,
) -> Transaction {
    Transaction {
        id: rng.uuid(),
        account,
        pending: false,
        description: description.to_owned(),
        reference: format!("{:010}", rng.range(0, 9_999_999_999)),
        amount_cents,
        balance_cents: 0,
        class,
        sub_class,
        merchant,
        transaction_date,
        post_date: Some(transaction_date),
    }
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

    #[test]
    fn the_same_seed_gives_the_same_data() {
        let day = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
        let a = Generated::connection(7, day, &NOBODY);
        let b = Generated::connection(7, day, &NOBODY);
        assert_eq!(a.transactions.len(), b.transactions.len());
        assert!(a.transactions.len() >= 700);
        assert_eq!(a.transactions[10].id, b.transactions[10].id);
        let c = Generated::connection(8, day, &NOBODY);
        assert_ne!(a.transactions[10].id, c.transactions[10].id);
    }

    #[test]
    fn money_is_a_decimal_string() {
        assert_eq!(money(-123_450), "-1234.50");
        assert_eq!(money(5), "0.05");
    }
}

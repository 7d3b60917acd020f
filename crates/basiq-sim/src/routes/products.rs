//! Hooli's products: the rates, fees and features Basiq passes on from the bank's product data
//! as an account's `meta` (typed as Basiq's `Metadata` schema types them), and the rate in
//! force as `depositRate` or `lendingRate`. Rates are decimal strings (`0.0500` is 5% p.a.),
//! durations ISO 8601, as in the Consumer Data Standards Basiq's schema follows.
//!
//! In `meta`, a list that does not apply to the product (deposit rates on a card) is null, as
//! the schema allows; an empty list means the product has none (a saver without fees).

use chrono::{Days, Months};
use serde_json::{Value, json};

use crate::data::{Account, ConnectionData, money};

const SAVER_BASE_RATE: &str = "0.0100";
const SAVER_BONUS_RATE: &str = "0.0400";
/// Base and bonus together, as paid in a month that qualifies.
const SAVER_RATE: &str = "0.0500";
const CARD_PURCHASE_RATE: &str = "0.2099";
const CARD_CASH_ADVANCE_RATE: &str = "0.2199";
const HOME_LOAN_RATE: &str = "0.0609";
const HOME_LOAN_COMPARISON_RATE: &str = "0.0621";
const HOME_LOAN_TERM_YEARS: u32 = 30;

/// What an account's product says, beside its balances.
pub struct Terms {
    pub deposit_rate: Option<&'static str>,
    pub lending_rate: Option<&'static str>,
    pub meta: Value,
}

/// The terms of `a`, one of `data`'s accounts, held by `holder`.
pub fn terms(a: &Account, data: &ConnectionData, holder: &str) -> Terms {
    let p = &data.profile.address;
    let addresses = json!([{
        "addressType": "simple",
        "simple": {
            "mailingName": holder,
            "addressLine1": p.line1,
            "city": p.suburb,
            "state": p.state,
            "postcode": p.postcode,
            "country": "AUS",
        },
    }]);
    let (deposit_rate, lending_rate, mut meta) = match a.class {
        "transaction" => (None, None, everyday()),
        "savings" => (Some(SAVER_RATE), None, saver()),
        "credit-card" => (None, Some(CARD_PURCHASE_RATE), credit_card(a)),
        _ => (None, Some(HOME_LOAN_RATE), home_loan(a, data)),
    };
    meta["addresses"] = addresses;
    Terms {
        deposit_rate,
        lending_rate,
        meta,
    }
}

fn everyday() -> Value {
    json!({
        "fees": [
            {
                "name": "Monthly account fee",
                "feeType": "PERIODIC",
                "amount": "5.00",
                "currency": "AUD",
                "accrualFrequency": "P1M",
                "additionalInfo": "Charged at the end of each month",
                "discounts": [{
                    "description": "No monthly fee in a month you deposit $2,000 or more",
                    "discountType": "DEPOSITS",
                    "amount": "5.00",
                    "additionalValue": "2000.00",
                }],
            },
            {
                "name": "Overseas ATM withdrawal fee",
                "feeType": "WITHDRAWAL",
                "amount": "5.00",
                "currency": "AUD",
            },
            {
                "name": "International transaction fee",
                "feeType": "TRANSACTION",
                "transactionRate": "0.03",
                "additionalInfo": "Of the Australian dollar amount of each purchase made overseas or in a foreign currency",
            },
            {
                "name": "Dishonour fee",
                "feeType": "EVENT",
                "amount": "10.00",
                "currency": "AUD",
            },
        ],
        "depositRates": null,
        "lendingRates": null,
        "loan": null,
        "features": [
            { "featureType": "CARD_ACCESS", "additionalValue": "Visa Debit", "isActivated": true },
            {
                "featureType": "DIGITAL_WALLET",
                "additionalValue": "Apple Pay, Google Pay, Samsung Pay",
                "isActivated": true,
            },
            { "featureType": "NPP_PAYID", "isActivated": true },
            { "featureType": "UNLIMITED_TXNS", "isActivated": true },
            {
                "featureType": "NOTIFICATIONS",
                "additionalInfo": "Alerts for deposits, withdrawals and a low balance",
                "isActivated": false,
            },
        ],
    })
}

fn saver() -> Value {
    let up_to_250k = |name: &str| {
        json!({
            "name": name,
            "unitOfMeasure": "DOLLAR",
            "minimumValue": 0,
            "maximumValue": 250_000,
            "rateApplicationMethod": "WHOLE_BALANCE",
        })
    };
    let mut bonus_tier = up_to_250k("Bonus on balances up to $250,000");
    bonus_tier["applicabilityConditions"] = json!({
        "additionalInfo": "Paid in a month with a deposit of $200 or more and no withdrawals",
    });
    json!({
        "fees": [],
        "depositRates": [
            {
                "depositRateType": "VARIABLE",
                "rate": SAVER_BASE_RATE,
                "calculationFrequency": "P1D",
                "applicationFrequency": "P1M",
                "tiers": [up_to_250k("Base rate on balances up to $250,000")],
                "additionalInfo": "Variable base rate",
            },
            {
                "depositRateType": "BONUS",
                "rate": SAVER_BONUS_RATE,
                "calculationFrequency": "P1D",
                "applicationFrequency": "P1M",
                "tiers": [bonus_tier],
                "additionalValue": "Deposit $200 or more and make no withdrawals in the month",
            },
        ],
        "lendingRates": null,
        "loan": null,
        "features": [
            { "featureType": "DIGITAL_BANKING", "isActivated": true },
            { "featureType": "NPP_ENABLED", "isActivated": true },
        ],
    })
}

fn credit_card(a: &Account) -> Value {
    // The statement closed on the day the data was fetched; the minimum is 2% or $25.
    let due = (-a.balance_cents).max(0);
    let minimum = if due == 0 {
        0
    } else {
        (due / 50).max(2_500.min(due))
    };
    json!({
        "fees": [
            {
                "name": "Annual fee",
                "feeType": "PERIODIC",
                "amount": "249.00",
                "currency": "AUD",
                "accrualFrequency": "P1Y",
            },
            { "name": "Late payment fee", "feeType": "EVENT", "amount": "30.00", "currency": "AUD" },
            {
                "name": "Cash advance fee",
                "feeType": "WITHDRAWAL",
                "transactionRate": "0.03",
                "additionalInfo": "Of the amount advanced, at least $3",
            },
            { "name": "Foreign transaction fee", "feeType": "PURCHASE", "transactionRate": "0.03" },
        ],
        "depositRates": null,
        "lendingRates": [
            {
                "lendingRateType": "PURCHASE",
                "rate": CARD_PURCHASE_RATE,
                "calculationFrequency": "P1D",
                "applicationFrequency": "P1M",
                "interestPaymentDue": "IN_ARREARS",
                "additionalInfo": "Up to 55 days interest free on purchases when the closing balance is paid in full",
            },
            {
                "lendingRateType": "CASH_ADVANCE",
                "rate": CARD_CASH_ADVANCE_RATE,
                "calculationFrequency": "P1D",
                "applicationFrequency": "P1M",
                "interestPaymentDue": "IN_ARREARS",
            },
            {
                "lendingRateType": "INTRODUCTORY",
                "rate": "0.0000",
                "additionalValue": "P12M",
                "additionalInfo": "0% p.a. on balance transfers for the first 12 months",
            },
        ],
        "loan": null,
        "creditCard": {
            "minPaymentAmount": money(minimum),
            "paymentDueAmount": money(due),
            "paymentCurrency": "AUD",
            "paymentDueDate": (a.to + Days::new(25)).to_string(),
        },
        "features": [
            { "featureType": "LOYALTY_PROGRAM", "additionalValue": "Hooli Rewards", "isActivated": true },
            { "featureType": "INTEREST_FREE", "additionalValue": "P55D" },
            { "featureType": "ADDITIONAL_CARDS", "additionalValue": "4", "isActivated": false },
            {
                "featureType": "INSURANCE",
                "additionalInfo": "Complimentary overseas travel insurance",
                "isActivated": true,
            },
            { "featureType": "DIGITAL_WALLET", "additionalValue": "Apple Pay, Google Pay", "isActivated": true },
        ],
    })
}

fn home_loan(a: &Account, data: &ConnectionData) -> Value {
    let loan = a.loan.as_ref().map(|l| {
        let end = a
            .opened
            .checked_add_months(Months::new(12 * HOME_LOAN_TERM_YEARS))
            .unwrap_or(a.opened);
        // Repayments fall mid-month; the data was fetched about half a month after the last.
        json!({
            "startDate": a.opened.to_string(),
            "endDate": end.to_string(),
            "repaymentType": "PRINCIPAL_AND_INTEREST",
            "originalLoanAmount": money(l.original_cents),
            "originalLoanCurrency": "AUD",
            "minInstalmentAmount": money(l.instalment_cents),
            "minInstalmentCurrency": "AUD",
            "nextInstalmentDate": (a.to + Days::new(15)).to_string(),
            "maxRedraw": money(l.redraw_cents),
            "maxRedrawCurrency": "AUD",
            "minRedraw": "500.00",
            "minRedrawCurrency": "AUD",
            "repaymentFrequency": "P1M",
            "offsetAccountIds": [data.accounts[0].id],
            "offsetAccountEnabled": true,
        })
    });
    json!({
        "fees": [
            {
                "name": "Annual package fee",
                "feeType": "PERIODIC",
                "amount": "395.00",
                "currency": "AUD",
                "accrualFrequency": "P1Y",
            },
            { "name": "Establishment fee", "feeType": "UPFRONT", "amount": "600.00", "currency": "AUD" },
            { "name": "Discharge fee", "feeType": "EXIT", "amount": "350.00", "currency": "AUD" },
        ],
        "depositRates": null,
        "lendingRates": [{
            "lendingRateType": "VARIABLE",
            "rate": HOME_LOAN_RATE,
            "comparisonRate": HOME_LOAN_COMPARISON_RATE,
            "calculationFrequency": "P1D",
            "applicationFrequency": "P1M",
            "interestPaymentDue": "IN_ARREARS",
            "repaymentType": "PRINCIPAL_AND_INTEREST",
            "loanPurpose": "OWNER_OCCUPIED",
            "tiers": [{
                "name": "Loan to value ratio up to 80%",
                "unitOfMeasure": "PERCENT",
                "minimumValue": 0,
                "maximumValue": 80,
                "rateApplicationMethod": "WHOLE_BALANCE",
            }],
        }],
        "loan": loan,
        "features": [
            { "featureType": "OFFSET", "isActivated": true },
            { "featureType": "REDRAW", "isActivated": true },
            { "featureType": "EXTRA_REPAYMENTS", "isActivated": true },
        ],
    })
}

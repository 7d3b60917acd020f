//! Accounts, as our API shows them (`GET /v1/accounts`, `GET /v1/accounts/{id}`, the sync
//! store), read from Basiq's wire types and borrowing from them. Basiq's unmasked account
//! number is never read.

use serde::Serialize;
use utoipa::ToSchema;

use crate::basiq::types::{self as wire, Text, meta::AccountMeta};

/// A bank account; money is a decimal string, exactly as Basiq gives it. Basiq's unmasked
/// account number is never passed on.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView<'a> {
    #[schema(value_type = String)]
    pub id: Text<'a>,
    /// The account's name, e.g. `Everyday Account`.
    #[schema(value_type = Option<String>)]
    pub name: Option<Text<'a>>,
    /// The account number as the bank shows it.
    #[schema(value_type = Option<String>)]
    pub account_no: Option<Text<'a>>,
    /// The account number with all but its last digits masked, e.g. `xxxx5678`.
    #[schema(value_type = Option<String>)]
    pub masked_number: Option<Text<'a>>,
    /// The branch's BSB, e.g. `062000`.
    #[schema(value_type = Option<String>)]
    pub bsb: Option<Text<'a>>,
    /// The account holder's name, as the bank gives it.
    #[schema(value_type = Option<String>)]
    pub account_holder: Option<Text<'a>>,
    /// `UNKNOWN`, `ONE_PARTY`, `TWO_PARTY`, `MANY_PARTY` or `OTHER`.
    #[schema(value_type = Option<String>)]
    pub account_ownership: Option<Text<'a>>,
    /// Whether the user owns the account (rather than, say, being an authorised user).
    pub is_owned: Option<bool>,
    /// Decimal string, e.g. `"1234.56"`.
    #[schema(value_type = Option<String>)]
    pub balance: Option<Text<'a>>,
    /// Decimal string.
    #[schema(value_type = Option<String>)]
    pub available_funds: Option<Text<'a>>,
    /// Decimal string.
    #[schema(value_type = Option<String>)]
    pub credit_limit: Option<Text<'a>>,
    /// ISO 4217, e.g. `AUD`.
    #[schema(value_type = Option<String>)]
    pub currency: Option<Text<'a>>,
    pub class: AccountClassView<'a>,
    #[schema(value_type = Option<String>)]
    pub connection_id: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub institution_id: Option<Text<'a>>,
    /// RFC 3339, as Basiq gives it.
    #[schema(value_type = Option<String>)]
    pub last_updated: Option<Text<'a>>,
    /// `available` or `unavailable`.
    #[schema(value_type = Option<String>)]
    pub status: Option<Text<'a>>,
    /// The periods for which transactions are available.
    pub transaction_intervals: Option<Vec<IntervalView<'a>>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountClassView<'a> {
    /// e.g. `transaction`, `savings`, `credit-card`, `mortgage`, `loan`, `term-deposit`.
    #[serde(rename = "type")]
    #[schema(value_type = Option<String>)]
    pub kind: Option<Text<'a>>,
    /// The bank's product name.
    #[schema(value_type = Option<String>)]
    pub product: Option<Text<'a>>,
}

/// A period for which transactions are available (`YYYY-MM-DD`).
#[derive(Debug, Serialize, ToSchema)]
pub struct IntervalView<'a> {
    #[schema(value_type = Option<String>)]
    pub from: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub to: Option<Text<'a>>,
}

/// One account, with what only the one-account route carries: when it was opened, its
/// rates, and the product's rates, fees and features.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountDetail<'a> {
    #[serde(flatten)]
    pub account: AccountView<'a>,
    /// When the account was opened (`YYYY-MM-DD`).
    #[schema(value_type = Option<String>)]
    pub creation_date: Option<Text<'a>>,
    /// The current deposit rate, a decimal string (e.g. `"0.0425"`).
    #[schema(value_type = Option<String>)]
    pub deposit_rate: Option<Text<'a>>,
    /// The current lending rate, a decimal string.
    #[schema(value_type = Option<String>)]
    pub lending_rate: Option<Text<'a>>,
    /// The product's rates, fees and features, typed as in Basiq's schema.
    pub meta: Option<AccountMeta<'a>>,
}

impl<'a> From<&wire::Account<'a>> for AccountView<'a> {
    fn from(a: &wire::Account<'a>) -> Self {
        let class = a.class.unwrap_or(wire::AccountClass {
            kind: None,
            product: None,
        });
        Self {
            id: a.id,
            name: a.name,
            account_no: a.account_no,
            masked_number: a.masked_number,
            bsb: a.bsb,
            account_holder: a.account_holder,
            account_ownership: a.account_ownership,
            is_owned: a.is_owned,
            balance: a.balance,
            available_funds: a.available_funds,
            credit_limit: a.credit_limit,
            currency: a.currency,
            class: AccountClassView {
                kind: class.kind,
                product: class.product,
            },
            connection_id: a.connection.map(|r| r.0),
            institution_id: a.institution.map(|r| r.0),
            last_updated: a.last_updated,
            status: a.status,
            transaction_intervals: a.transaction_intervals.as_ref().map(|intervals| {
                intervals
                    .iter()
                    .map(|i| IntervalView {
                        from: i.from,
                        to: i.to,
                    })
                    .collect()
            }),
        }
    }
}

impl<'a> From<&wire::Account<'a>> for AccountDetail<'a> {
    fn from(a: &wire::Account<'a>) -> Self {
        Self {
            account: a.into(),
            creation_date: a.creation_date,
            deposit_rate: a.deposit_rate,
            lending_rate: a.lending_rate,
            meta: a.meta.clone(),
        }
    }
}

//! An account's `meta`: the product's rates, fees and features (data.json's `Metadata`, from
//! the CDR product reference data). It is passed on typed as Basiq's schema types it, with
//! Basiq's names, so this one set of types both reads Basiq's JSON and documents and writes
//! ours. Strings are [`Text`] (passed on as Basiq wrote them). `addresses` is not passed on:
//! it is the account holder's postal addresses, which an app showing rates and fees does not
//! need (the connection's `profile` has the addresses the bank gives).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Number, value::RawValue};
use utoipa::ToSchema;

use super::text::Text;

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountMeta<'a> {
    #[serde(borrow, default)]
    pub fees: Option<Vec<Fee<'a>>>,
    #[serde(borrow, default)]
    pub deposit_rates: Option<Vec<DepositRate<'a>>>,
    #[serde(borrow, default)]
    pub lending_rates: Option<Vec<LendingRate<'a>>>,
    #[serde(borrow, default)]
    pub features: Option<Vec<Feature<'a>>>,
    #[serde(borrow, default)]
    pub term_deposit: Option<Vec<TermDeposit<'a>>>,
    #[serde(borrow, default)]
    pub loan: Option<Loan<'a>>,
    #[serde(borrow, default)]
    pub credit_card: Option<CreditCard<'a>>,
}

/// A fee of the product.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Fee<'a> {
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub name: Option<Text<'a>>,
    /// `DEPOSIT`, `EVENT`, `EXIT`, `PAYMENT`, `PERIODIC`, `PURCHASE`, `TRANSACTION`, `UPFRONT`,
    /// `VARIABLE` or `WITHDRAWAL`.
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub fee_type: Option<Text<'a>>,
    /// Decimal string.
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub amount: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub balance_rate: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub transaction_rate: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub accrued_rate: Option<Text<'a>>,
    /// An ISO 8601 duration, e.g. `P1M`.
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub accrual_frequency: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub currency: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_value: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_info: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_info_uri: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub discounts: Option<Vec<Discount<'a>>>,
}

/// A discount on a fee.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Discount<'a> {
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub discount_type: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub description: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub amount: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub balance_rate: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub transaction_rate: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub accrued_rate: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub fee_rate: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_value: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_info: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_info_uri: Option<Text<'a>>,
    /// Who the discount is for. Basiq's schema has one object where the CDR standard has a
    /// list: either is read, and a list is written.
    #[serde(borrow, default, deserialize_with = "one_or_many")]
    pub eligibility: Option<Vec<Eligibility<'a>>>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Eligibility<'a> {
    /// e.g. `MIN_AGE`, `STUDENT`, `PENSION_RECIPIENT`.
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub discount_eligibility_type: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_value: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_info: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_info_uri: Option<Text<'a>>,
}

/// An interest rate on deposits.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DepositRate<'a> {
    /// `BONUS`, `BUNDLE_BONUS`, `FIXED`, `FLOATING`, `INTRODUCTORY`, `MARKET_LINKED` or
    /// `VARIABLE`.
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub deposit_rate_type: Option<Text<'a>>,
    /// A decimal string, e.g. `"0.0425"` for 4.25%.
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub rate: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub calculation_frequency: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub application_frequency: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub tiers: Option<Vec<RateTier<'a>>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_value: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_info: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_info_uri: Option<Text<'a>>,
}

/// An interest rate on lending.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LendingRate<'a> {
    /// e.g. `FIXED`, `VARIABLE`, `PURCHASE`, `CASH_ADVANCE`, `INTRODUCTORY`, `PENALTY`.
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub lending_rate_type: Option<Text<'a>>,
    /// A decimal string, e.g. `"0.1999"` for 19.99%.
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub rate: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub comparison_rate: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub calculation_frequency: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub application_frequency: Option<Text<'a>>,
    /// `IN_ADVANCE` or `IN_ARREARS`.
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub interest_payment_due: Option<Text<'a>>,
    /// `INTEREST_ONLY` or `PRINCIPAL_AND_INTEREST`.
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub repayment_type: Option<Text<'a>>,
    /// `INVESTMENT` or `OWNER_OCCUPIED`.
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub loan_purpose: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub tiers: Option<Vec<RateTier<'a>>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_value: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_info: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_info_uri: Option<Text<'a>>,
}

/// A tier of a rate (e.g. a balance band).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateTier<'a> {
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub name: Option<Text<'a>>,
    /// `DAY`, `DOLLAR`, `MONTH` or `PERCENT`.
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub unit_of_measure: Option<Text<'a>>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub minimum_value: Option<Number>,
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    pub maximum_value: Option<Number>,
    /// `PER_TIER` or `WHOLE_BALANCE`.
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub rate_application_method: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub applicability_conditions: Option<Conditions<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_info: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_info_uri: Option<Text<'a>>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Conditions<'a> {
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_info: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_info_uri: Option<Text<'a>>,
}

/// A feature of the product.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Feature<'a> {
    /// e.g. `CARD_ACCESS`, `DIGITAL_WALLET`, `NPP_PAYID`, `OFFSET`, `OVERDRAFT`.
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub feature_type: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_value: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_info: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub additional_info_uri: Option<Text<'a>>,
    #[serde(default)]
    pub is_activated: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TermDeposit<'a> {
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub lodgement_date: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub maturity_date: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub maturity_amount: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub maturity_currency: Option<Text<'a>>,
    /// `HOLD_ON_MATURITY`, `PAID_OUT_AT_MATURITY` or `ROLLED_OVER`.
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub maturity_instructions: Option<Text<'a>>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Loan<'a> {
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub start_date: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub end_date: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub repayment_type: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub original_loan_amount: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub original_loan_currency: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub min_instalment_amount: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub next_instalment_date: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub min_instalment_currency: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub max_redraw: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub max_redraw_currency: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub min_redraw: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub min_redraw_currency: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub repayment_frequency: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub offset_account_ids: Option<Vec<Text<'a>>>,
    #[serde(default)]
    pub offset_account_enabled: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreditCard<'a> {
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub min_payment_amount: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub payment_due_amount: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub payment_currency: Option<Text<'a>>,
    #[serde(borrow, default)]
    #[schema(value_type = Option<String>)]
    pub payment_due_date: Option<Text<'a>>,
}

/// One object or a list of them, as a list (`null` as none).
fn one_or_many<'de: 'a, 'a, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'a>,
{
    use serde::de::Error as _;
    let Some(raw) = Option::<&'de RawValue>::deserialize(d)? else {
        return Ok(None);
    };
    let text: &'a str = raw.get();
    if text.starts_with('[') {
        serde_json::from_str(text)
            .map(Some)
            .map_err(D::Error::custom)
    } else {
        serde_json::from_str(text)
            .map(|one| Some(vec![one]))
            .map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_discounts_eligibility_is_read_as_one_object_or_a_list_and_written_as_a_list() {
        for json in [
            r#"{"discountType":"BALANCE","eligibility":{"discountEligibilityType":"STUDENT"}}"#,
            r#"{"discountType":"BALANCE","eligibility":[{"discountEligibilityType":"STUDENT"}]}"#,
        ] {
            let d: Discount = serde_json::from_str(json).unwrap();
            let out = serde_json::to_value(&d).unwrap();
            assert_eq!(
                out["eligibility"][0]["discountEligibilityType"], "STUDENT",
                "{json}"
            );
        }
        let d: Discount = serde_json::from_str(r#"{"eligibility":null}"#).unwrap();
        assert!(d.eligibility.is_none());
    }
}

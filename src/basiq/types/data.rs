//! Accounts and transactions as Basiq sends them (data.json's AccountsData,
//! AccountResponseResource and TransactionData), read with serde and borrowing from the body:
//! every value we pass on is a [`Text`] of Basiq's own JSON. Unknown fields are ignored, and
//! what Basiq may leave out is optional. Fields we never pass on (`unmaskedAccNum`, links) are
//! not read at all.

use serde::{Deserialize, Deserializer, de::Error as _};
use serde_json::value::RawValue;

use super::{
    meta::AccountMeta,
    text::{Ref, Text},
};

/// `{type: "list", data: [...], links: {self, next?}}`.
#[derive(Debug, Deserialize)]
pub struct Page<'a, T> {
    pub data: Vec<T>,
    #[serde(borrow, default)]
    pub links: Option<PageLinks<'a>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct PageLinks<'a> {
    #[serde(borrow, default)]
    pub next: Option<Text<'a>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account<'a> {
    #[serde(borrow)]
    pub id: Text<'a>,
    #[serde(borrow, default)]
    pub name: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub account_no: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub masked_number: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub bsb: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub account_holder: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub account_ownership: Option<Text<'a>>,
    #[serde(default)]
    pub is_owned: Option<bool>,
    #[serde(borrow, default)]
    pub balance: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub available_funds: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub credit_limit: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub currency: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub class: Option<AccountClass<'a>>,
    #[serde(borrow, default)]
    pub connection: Option<Ref<'a>>,
    #[serde(borrow, default)]
    pub institution: Option<Ref<'a>>,
    #[serde(borrow, default)]
    pub last_updated: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub status: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub transaction_intervals: Option<Vec<Interval<'a>>>,
    #[serde(borrow, default)]
    pub creation_date: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub deposit_rate: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub lending_rate: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub meta: Option<AccountMeta<'a>>,
}

/// `{type, product}`, or (in one of Basiq's examples) a bare string: the type.
#[derive(Debug, Clone, Copy)]
pub struct AccountClass<'a> {
    pub kind: Option<Text<'a>>,
    pub product: Option<Text<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for AccountClass<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Object<'a> {
            #[serde(rename = "type", borrow, default)]
            kind: Option<Text<'a>>,
            #[serde(borrow, default)]
            product: Option<Text<'a>>,
        }
        let raw = <&'de RawValue>::deserialize(d)?;
        if raw.get().starts_with('{') {
            let Object { kind, product } =
                serde_json::from_str(raw.get()).map_err(D::Error::custom)?;
            Ok(Self { kind, product })
        } else {
            let kind = serde_json::from_str(raw.get()).map_err(D::Error::custom)?;
            Ok(Self {
                kind: Some(kind),
                product: None,
            })
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Interval<'a> {
    #[serde(borrow, default)]
    pub from: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub to: Option<Text<'a>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction<'a> {
    #[serde(borrow)]
    pub id: Text<'a>,
    #[serde(borrow, default)]
    pub status: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub description: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub reference: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub amount: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub currency: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub balance: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub direction: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub class: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub sub_class: Option<CodeTitle<'a>>,
    #[serde(borrow, default)]
    pub account: Option<Ref<'a>>,
    #[serde(borrow, default)]
    pub connection: Option<Ref<'a>>,
    #[serde(borrow, default)]
    pub institution: Option<Ref<'a>>,
    #[serde(borrow, default)]
    pub transaction_date: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub post_date: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub payment_details: Option<PaymentDetails<'a>>,
    #[serde(borrow, default)]
    pub enrich: Option<Enrich<'a>>,
}

/// `{code, title}`: a sub-class, an MCC, and each level of an ANZSIC category.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct CodeTitle<'a> {
    #[serde(borrow, default)]
    pub code: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub title: Option<Text<'a>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDetails<'a> {
    #[serde(borrow, default)]
    pub bpay: Option<Bpay<'a>>,
    #[serde(borrow, default)]
    pub apca_number: Option<Text<'a>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bpay<'a> {
    #[serde(borrow, default)]
    pub biller_code: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub biller_name: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub crn: Option<Text<'a>>,
}

/// What Basiq's classification engine knows of a transaction.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrich<'a> {
    #[serde(borrow, default)]
    pub clean_description: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub tags: Option<Vec<Text<'a>>>,
    #[serde(borrow, default)]
    pub merchant: Option<Merchant<'a>>,
    #[serde(borrow, default)]
    pub category: Option<Category<'a>>,
    #[serde(borrow, default)]
    pub location: Option<Location<'a>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Merchant<'a> {
    #[serde(borrow, default)]
    pub id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub business_name: Option<Text<'a>>,
    #[serde(rename = "ABN", borrow, default)]
    pub abn: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub website: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub phone_number: Option<Phone<'a>>,
    #[serde(borrow, default)]
    pub logo_master: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub logo_thumb: Option<Text<'a>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Phone<'a> {
    #[serde(borrow, default)]
    pub local: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub international: Option<Text<'a>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Category<'a> {
    #[serde(borrow, default)]
    pub match_type: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub match_score: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub mcc: Option<CodeTitle<'a>>,
    #[serde(borrow, default)]
    pub anzsic: Option<Anzsic<'a>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Anzsic<'a> {
    #[serde(borrow, default)]
    pub division: Option<CodeTitle<'a>>,
    #[serde(borrow, default)]
    pub subdivision: Option<CodeTitle<'a>>,
    #[serde(borrow, default)]
    pub group: Option<CodeTitle<'a>>,
    #[serde(borrow, default)]
    pub class: Option<CodeTitle<'a>>,
    #[serde(borrow, default)]
    pub subclass: Option<CodeTitle<'a>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location<'a> {
    #[serde(borrow, default)]
    pub formatted_address: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub route_no: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub route: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub suburb: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub state: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub postal_code: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub country: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub geometry: Option<Geometry<'a>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Geometry<'a> {
    #[serde(borrow, default)]
    pub lat: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub lng: Option<Text<'a>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_class_is_an_object_or_a_bare_string() {
        let a: Account = serde_json::from_str(
            r#"{"id":"a1","class":{"type":"savings","product":"Saver"},"unmaskedAccNum":"x"}"#,
        )
        .unwrap();
        let class = a.class.unwrap();
        assert_eq!(class.kind.unwrap(), "savings");
        assert_eq!(class.product.unwrap(), "Saver");
        let a: Account = serde_json::from_str(r#"{"id":"a1","class":"savings"}"#).unwrap();
        let class = a.class.unwrap();
        assert_eq!(class.kind.unwrap(), "savings");
        assert!(class.product.is_none());
    }

    #[test]
    fn a_transaction_with_basiqs_documented_inconsistencies_is_read() {
        // subClass.code as a number, references as ids or objects, a null transactionDate.
        let t: Transaction = serde_json::from_str(
            r#"{"type":"transaction","id":"t1","subClass":{"code":722,"title":"Cafes"},
                "account":{"id":"a1"},"connection":"c1","transactionDate":null,"enrich":null}"#,
        )
        .unwrap();
        assert_eq!(t.sub_class.unwrap().code.unwrap(), "722");
        assert_eq!(t.account.unwrap().0, "a1");
        assert!(t.transaction_date.is_none() && t.enrich.is_none());
    }

    #[test]
    fn a_transaction_without_an_id_or_with_a_wrong_type_is_refused() {
        assert!(serde_json::from_str::<Transaction>(r#"{"status":"posted"}"#).is_err());
        assert!(serde_json::from_str::<Transaction>(r#"{"id":"t","amount":{"v":1}}"#).is_err());
        assert!(serde_json::from_str::<Transaction>(r#"{"id":"t","enrich":"yes"}"#).is_err());
    }
}

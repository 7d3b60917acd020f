//! Basiq's wire types, parsed tolerantly: the OpenAPI schemas and their own examples disagree in
//! places (`class` as object or string, `details` vs `detail`, `method` spelling), so fields we
//! do not strictly need are optional and unknown fields are ignored.

use std::borrow::Cow;

use serde::{
    Deserialize, Deserializer,
    de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor},
};
use serde_json::Value;

#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default = "default_expires_in")]
    pub expires_in: u64,
}

fn default_expires_in() -> u64 {
    3600
}

#[derive(Debug, Deserialize)]
pub struct User {
    pub id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct List<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default)]
    pub links: Links,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Links {
    #[serde(rename = "self")]
    pub self_: Option<String>,
    pub next: Option<String>,
    pub source: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: String,
    pub job_type: Option<String>,
    pub created: Option<String>,
    pub updated: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub steps: Vec<JobStep>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub links: JobLinks,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct JobLinks {
    #[serde(rename = "self")]
    pub self_: Option<String>,
    pub source: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct JobStep {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub status: String,
    pub result: Option<StepResult>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StepResult {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub url: Option<String>,
    pub code: Option<String>,
    pub title: Option<String>,
    /// The schema says `details`, Basiq's examples say `detail`: accept both.
    #[serde(alias = "details")]
    pub detail: Option<String>,
}

/// What refresh answers: `{type: "job", id, links}`.
#[derive(Debug, Deserialize)]
pub struct JobStub {
    pub id: String,
}

/// `GET /events/{id}`: what a webhook's thin payload points at.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: Option<String>,
    pub entity: Option<String>,
    pub event_type: Option<String>,
    pub user_id: Option<String>,
    pub data_ref: Option<String>,
    #[serde(default)]
    pub data: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub id: String,
    pub status: Option<String>,
    pub method: Option<String>,
    pub created_date: Option<String>,
    pub expiry_date: Option<String>,
    pub last_used: Option<String>,
    pub institution: Option<ConnectionInstitution>,
}

#[derive(Debug, Deserialize)]
pub struct ConnectionInstitution {
    pub id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: String,
    pub name: Option<String>,
    pub account_no: Option<String>,
    pub balance: Option<String>,
    pub available_funds: Option<String>,
    pub credit_limit: Option<String>,
    pub currency: Option<String>,
    pub class: Option<AccountClass>,
    #[serde(default, deserialize_with = "id_or_object")]
    pub connection: Option<String>,
    #[serde(default, deserialize_with = "id_or_object")]
    pub institution: Option<String>,
    pub last_updated: Option<String>,
    pub status: Option<String>,
}

/// `class` is `{type, product}` in the schema and a bare string in one example.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum AccountClass {
    Object {
        #[serde(rename = "type")]
        kind: Option<String>,
        product: Option<String>,
    },
    Bare(String),
}

/// A page of transactions parsed in place: its strings borrow from the response body, so a
/// 100-row page costs a handful of allocations rather than thousands (the hot path).
#[derive(Debug, Deserialize)]
pub struct TransactionList<'a> {
    #[serde(borrow, default)]
    pub data: Vec<Transaction<'a>>,
    #[serde(borrow, default)]
    pub links: PageLinks<'a>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageLinks<'a> {
    #[serde(borrow)]
    pub next: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub description: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub amount: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub currency: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_id_or_object")]
    pub account: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub balance: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub direction: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub class: Option<Cow<'a, str>>,
    /// `{code, title}` in the schema, a bare string in places: its title.
    #[serde(borrow, default, deserialize_with = "borrowed_title")]
    pub sub_class: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_id_or_object")]
    pub institution: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_id_or_object")]
    pub connection: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub transaction_date: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub post_date: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connector {
    pub id: String,
    pub method: Option<String>,
    pub stage: Option<String>,
    pub status: Option<String>,
    pub institution: Option<ConnectorInstitution>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorInstitution {
    pub name: Option<String>,
    pub short_name: Option<String>,
    pub tier: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub country: Option<String>,
    pub logo: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consent {
    pub id: Option<String>,
    pub status: Option<String>,
    pub created: Option<String>,
    pub expiry_date: Option<String>,
}

/// Basiq's error envelope.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEnvelope {
    pub correlation_id: Option<String>,
    #[serde(default)]
    pub data: Vec<ErrorItem>,
}

#[derive(Debug, Deserialize)]
pub struct ErrorItem {
    pub code: Option<String>,
    pub title: Option<String>,
    pub detail: Option<String>,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Some references are an id string in one place and `{id, …}` in another.
fn id_or_object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(d.deserialize_any(StringOrField("id"))?.map(Cow::into_owned))
}

/// A string borrowed from the input when it has no escapes.
#[derive(Deserialize)]
struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);

/// A string, or the string field `key` of an object; anything else is `None`. No `Value` is
/// built on the way.
struct StringOrField(&'static str);

impl<'de> Visitor<'de> for StringOrField {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a string or an object with a string {}", self.0)
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<Borrowed>()? {
            if key.0 == self.0 {
                found = map.next_value::<Option<Borrowed>>()?.map(|b| b.0);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

fn borrowed_id_or_object<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_any(StringOrField("id"))
}

fn borrowed_title<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_any(StringOrField("title"))
}

/// `method` comes as `openbanking`, `open-banking` or `web`: one spelling for our API.
pub fn normalise_method(method: Option<&str>) -> Option<String> {
    method.map(
        |m| match m.to_ascii_lowercase().replace(['-', '_', ' '], "").as_str() {
            "openbanking" => "openbanking".to_owned(),
            other => other.to_owned(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_step_accepts_detail_or_details() {
        for key in ["detail", "details"] {
            let step: JobStep = serde_json::from_value(serde_json::json!({
                "title": "verify-credentials", "status": "failed",
                "result": {"code": "invalid-credentials", "title": "t", key: "why"}
            }))
            .unwrap();
            assert_eq!(step.result.unwrap().detail.as_deref(), Some("why"));
        }
    }

    #[test]
    fn an_account_class_may_be_an_object_or_a_string() {
        let a: Account = serde_json::from_value(serde_json::json!({
            "id": "a", "class": "transaction", "connection": {"id": "c"}, "institution": "AU00000"
        }))
        .unwrap();
        assert!(matches!(a.class, Some(AccountClass::Bare(ref s)) if s == "transaction"));
        assert_eq!(a.connection.as_deref(), Some("c"));
        assert_eq!(a.institution.as_deref(), Some("AU00000"));
    }

    #[test]
    fn a_transaction_page_borrows_its_strings_and_reads_both_reference_shapes() {
        let body = br#"{"type":"list","data":[{"id":"t1","amount":"-1.50","subClass":{"code":"411","title":"Supermarkets"},
            "account":{"id":"a1","links":{}},"connection":"c1","institution":null,"description":"CAF\u00c9","enrich":{"x":[1,2]}},
            {"id":"t2","subClass":"Groceries","account":"a2"}],"links":{"next":"https://x/users/u/transactions?next=2"}}"#;
        let list: TransactionList = serde_json::from_slice(body).unwrap();
        let t = &list.data[0];
        assert!(matches!(t.id, Cow::Borrowed("t1")));
        assert_eq!(t.sub_class.as_deref(), Some("Supermarkets"));
        assert_eq!(t.account.as_deref(), Some("a1"));
        assert_eq!(t.connection.as_deref(), Some("c1"));
        assert_eq!(t.institution, None);
        assert_eq!(
            t.description.as_deref(),
            Some("CAFÉ"),
            "escapes are decoded"
        );
        assert_eq!(list.data[1].sub_class.as_deref(), Some("Groceries"));
        assert_eq!(list.data[1].account.as_deref(), Some("a2"));
        assert!(list.links.next.is_some());
    }

    #[test]
    fn methods_are_normalised() {
        assert_eq!(
            normalise_method(Some("open-banking")).unwrap(),
            "openbanking"
        );
        assert_eq!(
            normalise_method(Some("OpenBanking")).unwrap(),
            "openbanking"
        );
        assert_eq!(normalise_method(Some("web")).unwrap(), "web");
    }
}

//! Basiq's wire types, parsed tolerantly: the OpenAPI schemas and their own examples disagree in
//! places (`class` as object or string, `details` vs `detail`, `method` spelling), so fields we
//! do not strictly need are optional and unknown fields are ignored.

use std::borrow::Cow;

use serde::{
    Deserialize, Deserializer,
    de::{self},
};
use serde_json::Value;
use sonic_rs::{JsonValueTrait, LazyValue};

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

/// A JSON string exactly as Basiq wrote it, quotes and escapes included, checked to be a
/// string: it goes into our answers as it came, never decoded and encoded again (the hot
/// path). It borrows from the response body.
///
/// Serialise it with `sonic_rs` only, which writes the raw text; see `http::raw_json`.
#[derive(Debug)]
pub struct RawStr<'a>(LazyValue<'a>);

impl<'a> RawStr<'a> {
    /// `Some` when `value` is a string; anything else is `None`.
    fn of(value: LazyValue<'a>) -> Option<Self> {
        value.is_str().then_some(Self(value))
    }

    /// The raw JSON text, e.g. `"CAF\u00c9"`.
    pub fn as_raw(&self) -> &str {
        self.0.as_raw_str()
    }

    /// The decoded string, e.g. `CAFÉ`.
    pub fn decoded(&self) -> Option<Cow<'_, str>> {
        sonic_rs::from_str::<Cow<str>>(self.as_raw()).ok()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = LazyValue::deserialize(d)?;
        Self::of(value).ok_or_else(|| {
            de::Error::invalid_type(de::Unexpected::Other("a non-string"), &"a string")
        })
    }
}

impl serde::Serialize for RawStr<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// `key` of a JSON object, if it is there.
fn field_of<'a>(object: &LazyValue<'a>, key: &str) -> Option<LazyValue<'a>> {
    if !object.is_object() {
        return None;
    }
    // Parsed from a `&str`, a value always borrows its text from it.
    match object.as_raw_cow() {
        Cow::Borrowed(raw) => sonic_rs::get_from_str(raw, [key]).ok(),
        Cow::Owned(_) => None,
    }
}

/// A string, or the string `key` of an object; anything else is `None`.
fn string_or_field<'de: 'a, 'a, D: Deserializer<'de>>(
    d: D,
    key: &str,
) -> Result<Option<RawStr<'a>>, D::Error> {
    let value = LazyValue::deserialize(d)?;
    Ok(match field_of(&value, key) {
        Some(inner) => RawStr::of(inner),
        None => RawStr::of(value),
    })
}

/// Some references are an id string in one place and `{id, …}` in another.
fn id_or_object<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<RawStr<'a>>, D::Error> {
    string_or_field(d, "id")
}

/// `subClass` is `{code, title}` in the schema, a bare string in places: its title.
fn title_or_string<'de: 'a, 'a, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<RawStr<'a>>, D::Error> {
    string_or_field(d, "title")
}

/// `GET /users/{id}/accounts`, parsed in place.
#[derive(Debug, Deserialize)]
pub struct AccountList<'a> {
    #[serde(borrow, default)]
    pub data: Vec<Account<'a>>,
}

/// An account, parsed in place: money stays the decimal string Basiq sent.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account<'a> {
    #[serde(borrow)]
    pub id: RawStr<'a>,
    #[serde(borrow)]
    pub name: Option<RawStr<'a>>,
    #[serde(borrow)]
    pub account_no: Option<RawStr<'a>>,
    #[serde(borrow)]
    pub balance: Option<RawStr<'a>>,
    #[serde(borrow)]
    pub available_funds: Option<RawStr<'a>>,
    #[serde(borrow)]
    pub credit_limit: Option<RawStr<'a>>,
    #[serde(borrow)]
    pub currency: Option<RawStr<'a>>,
    #[serde(borrow, default, deserialize_with = "account_class")]
    pub class: AccountClass<'a>,
    #[serde(borrow, default, deserialize_with = "id_or_object")]
    pub connection: Option<RawStr<'a>>,
    #[serde(borrow, default, deserialize_with = "id_or_object")]
    pub institution: Option<RawStr<'a>>,
    #[serde(borrow)]
    pub last_updated: Option<RawStr<'a>>,
    #[serde(borrow)]
    pub status: Option<RawStr<'a>>,
}

/// `class` is `{type, product}` in the schema and a bare string (the type) in one example.
#[derive(Debug, Default)]
pub struct AccountClass<'a> {
    pub kind: Option<RawStr<'a>>,
    pub product: Option<RawStr<'a>>,
}

fn account_class<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<AccountClass<'a>, D::Error> {
    let value = LazyValue::deserialize(d)?;
    Ok(if value.is_object() {
        AccountClass {
            kind: field_of(&value, "type").and_then(RawStr::of),
            product: field_of(&value, "product").and_then(RawStr::of),
        }
    } else {
        AccountClass {
            kind: RawStr::of(value),
            product: None,
        }
    })
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
    pub id: RawStr<'a>,
    #[serde(borrow)]
    pub status: Option<RawStr<'a>>,
    #[serde(borrow)]
    pub description: Option<RawStr<'a>>,
    #[serde(borrow)]
    pub amount: Option<RawStr<'a>>,
    #[serde(borrow)]
    pub currency: Option<RawStr<'a>>,
    #[serde(borrow, default, deserialize_with = "id_or_object")]
    pub account: Option<RawStr<'a>>,
    #[serde(borrow)]
    pub balance: Option<RawStr<'a>>,
    #[serde(borrow)]
    pub direction: Option<RawStr<'a>>,
    #[serde(borrow)]
    pub class: Option<RawStr<'a>>,
    #[serde(borrow, default, deserialize_with = "title_or_string")]
    pub sub_class: Option<RawStr<'a>>,
    #[serde(borrow, default, deserialize_with = "id_or_object")]
    pub institution: Option<RawStr<'a>>,
    #[serde(borrow, default, deserialize_with = "id_or_object")]
    pub connection: Option<RawStr<'a>>,
    #[serde(borrow)]
    pub transaction_date: Option<RawStr<'a>>,
    #[serde(borrow)]
    pub post_date: Option<RawStr<'a>>,
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

    fn raw<'a>(v: &'a Option<RawStr<'_>>) -> Option<&'a str> {
        v.as_ref().map(RawStr::as_raw)
    }

    #[test]
    fn an_account_class_may_be_an_object_or_a_string() {
        let body = br#"{"data":[
            {"id":"a","class":"transaction","connection":{"id":"c"},"institution":"AU00000"},
            {"id":"b","class":{"type":"savings","product":"Bonus Saver"},"connection":7}]}"#;
        let list: AccountList = parse(body).unwrap();
        let (a, b) = (&list.data[0], &list.data[1]);
        assert_eq!(raw(&a.class.kind), Some(r#""transaction""#));
        assert_eq!(raw(&a.class.product), None);
        assert_eq!(raw(&a.connection), Some(r#""c""#));
        assert_eq!(raw(&a.institution), Some(r#""AU00000""#));
        assert_eq!(raw(&b.class.kind), Some(r#""savings""#));
        assert_eq!(raw(&b.class.product), Some(r#""Bonus Saver""#));
        assert_eq!(
            raw(&b.connection),
            None,
            "a reference of another shape is left out"
        );
    }

    fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> sonic_rs::Result<T> {
        sonic_rs::from_str(std::str::from_utf8(body).unwrap())
    }

    #[test]
    fn a_transaction_page_keeps_its_strings_as_sent_and_reads_both_reference_shapes() {
        let body = br#"{"type":"list","data":[{"id":"t1","amount":"-1.50","subClass":{"code":"411","title":"Supermarkets"},
            "account":{"id":"a1","links":{}},"connection":"c1","institution":null,"description":"CAF\u00c9 \"7\"","enrich":{"x":[1,2]}},
            {"id":"t2","subClass":"Groceries","account":"a2"}],"links":{"next":"https://x/users/u/transactions?next=2"}}"#;
        let list: TransactionList = parse(body).unwrap();
        let t = &list.data[0];
        assert_eq!(t.id.as_raw(), r#""t1""#);
        assert_eq!(raw(&t.sub_class), Some(r#""Supermarkets""#));
        assert_eq!(raw(&t.account), Some(r#""a1""#));
        assert_eq!(raw(&t.connection), Some(r#""c1""#));
        assert!(t.institution.is_none());
        assert_eq!(
            raw(&t.description),
            Some(r#""CAF\u00c9 \"7\"""#),
            "escapes are kept as sent"
        );
        assert_eq!(
            t.description.as_ref().and_then(RawStr::decoded).as_deref(),
            Some("CAFÉ \"7\"")
        );
        assert_eq!(raw(&list.data[1].sub_class), Some(r#""Groceries""#));
        assert_eq!(raw(&list.data[1].account), Some(r#""a2""#));
        assert!(list.links.next.is_some());
    }

    #[test]
    fn a_field_that_must_be_a_string_and_is_not_refuses_the_page() {
        for body in [
            &br#"{"data":[{"id":"t1","amount":-1.5}]}"#[..],
            br#"{"data":[{"id":7}]}"#,
            br#"{"data":[{"amount":"1.00"}]}"#,
            br#"{"data":[{"id":"t1","description":"bad \q escape"}]}"#,
            b"{\"data\":[{\"id\":\"t1\",\"description\":\"raw\ncontrol\"}]}",
            br#"{"data":[{"id":"t1","enrich":{"note":"bad \q escape in a skipped field"}}]}"#,
        ] {
            assert!(
                parse::<TransactionList>(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
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

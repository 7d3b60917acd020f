//! Basiq's wire types, parsed tolerantly: the OpenAPI schemas and their own examples disagree in
//! places (`class` as object or string, `details` vs `detail`, `method` spelling), so fields we
//! do not strictly need are optional and unknown fields are ignored.

mod connection;
mod data;
mod job;
pub mod meta;
mod text;

pub use data::*;
pub use text::{Ref, Text};

use serde::{Deserialize, Deserializer};
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
    /// `{type: "institution", id, links}`: the bank the job works with.
    #[serde(default, deserialize_with = "lenient")]
    pub institution: Option<JobInstitution>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct JobInstitution {
    pub id: String,
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
    /// The schema says an object; Basiq's MFA examples send a list of one: accept both.
    #[serde(default, deserialize_with = "one_or_first")]
    pub result: Option<StepResult>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepResult {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub url: Option<String>,
    pub code: Option<String>,
    pub title: Option<String>,
    /// The schema says `details`, Basiq's examples say `detail`: accept both.
    #[serde(alias = "details")]
    pub detail: Option<String>,
    /// An `mfa` result: `token` or `security-questions`.
    pub method: Option<String>,
    /// An `mfa` result: the bank's words.
    pub description: Option<String>,
    /// An `mfa` result: the questions, or the input's label.
    #[serde(default, deserialize_with = "null_as_default")]
    pub input: Vec<String>,
    /// An `mfa` result: how long the challenge stays open, in milliseconds.
    #[serde(default, deserialize_with = "lenient")]
    pub expiry_ms: Option<u64>,
}

/// A value Basiq sends as `T`, or as a list whose first element is the `T`.
fn one_or_first<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(match Option::<OneOrMany<T>>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(t)) => Some(t),
        Some(OneOrMany::Many(list)) => list.into_iter().next(),
    })
}

/// What refresh answers: `{type: "job", id, links}`.
#[derive(Debug, Deserialize)]
pub struct JobStub {
    pub id: String,
}

/// `GET /events/{id}`: what a webhook's thin payload points at; `GET /events` lists them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: Option<String>,
    /// `2019-07-29T07:34:09Z`.
    #[serde(default)]
    pub created_date: Option<String>,
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
    /// The account holder as the bank gives them (on `GET /users/{id}/connections/{id}`).
    #[serde(default)]
    pub profile: Option<Profile>,
}

/// data.json's `ConnectionProfile`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub full_name: Option<String>,
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub email_addresses: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub phone_numbers: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub physical_addresses: Vec<PhysicalAddress>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalAddress {
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub address_line3: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postcode: Option<String>,
    pub country: Option<String>,
    pub country_code: Option<String>,
    pub formatted_address: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ConnectionInstitution {
    pub id: String,
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
    pub updated: Option<String>,
    pub expiry_date: Option<String>,
    pub revoked: Option<String>,
    pub origin: Option<String>,
    pub purpose: Option<ConsentPurpose>,
    pub data: Option<ConsentData>,
}

#[derive(Debug, Deserialize)]
pub struct ConsentPurpose {
    pub primary: Option<PurposeText>,
    /// The schema says a boolean, examples show `null`; anything else is read as absent.
    #[serde(default, deserialize_with = "lenient")]
    pub other: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct PurposeText {
    pub title: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentData {
    pub retain_data: Option<bool>,
    pub initial_retrieval_days: Option<i64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub permissions: Vec<ConsentPermission>,
}

#[derive(Debug, Deserialize)]
pub struct ConsentPermission {
    pub scope: Option<String>,
    pub entity: Option<String>,
    pub required: Option<bool>,
    pub consented: Option<bool>,
    pub information: Option<PermissionInformation>,
    pub purpose: Option<PurposeText>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionInformation {
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub attribute_list: Vec<String>,
}

fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// A webhook subscription of the application (webhooks.json `Webhook`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: String,
    #[serde(default)]
    pub url: String,
    /// `active` or `pending-approval`; anything else (or a subscription gone) no longer
    /// receives.
    pub status: Option<String>,
    /// The schema says a list; its own example sends a bare string: accept both.
    #[serde(default, deserialize_with = "list_or_one")]
    pub subscribed_events: Vec<String>,
    /// Only when it was just created or updated: the signing secret (`whsec_…`).
    pub secret: Option<secrecy::SecretString>,
}

/// A list Basiq may send as a single bare value.
fn list_or_one<'de, D>(d: D) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrOne {
        List(Vec<String>),
        One(String),
    }
    Ok(match Option::<ListOrOne>::deserialize(d)? {
        None => Vec::new(),
        Some(ListOrOne::List(list)) => list,
        Some(ListOrOne::One(one)) => vec![one],
    })
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

//! The fields the simulator promises beyond what Basiq's schemas require (they leave most of
//! `enrich`, `meta` and `profile` optional), for `schema::assert_shape`.

use serde_json::{Value, json};

/// A connection's `profile`.
pub fn profile() -> Value {
    json!({
        "fullName": "string",
        "firstName": "string",
        "middleName": "string",
        "lastName": "string",
        "emailAddresses": ["string"],
        "phoneNumbers": ["string"],
        "physicalAddresses": [{
            "addressLine1": "string",
            "addressLine2": "null",
            "addressLine3": "null",
            "city": "string",
            "state": "string",
            "postcode": "string",
            "country": "string",
            "countryCode": "string",
            "formattedAddress": "string",
        }],
    })
}

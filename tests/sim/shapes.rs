//! The fields the simulator promises beyond what Basiq's schemas require (they leave most of
//! `enrich`, `meta` and `profile` optional), for `schema::assert_shape`.

use serde_json::{Value, json};

/// Identity fields every account carries.
pub fn account_identity() -> Value {
    json!({
        "id": "string",
        "accountNo": "string",
        "maskedNumber": "string",
        "accountHolder": "string",
        "accountOwnership": "string",
        "isOwned": "boolean",
        "creationDate": "string",
        "transactionIntervals": [{ "from": "string", "to": "string" }],
        "meta": { "addresses": [{ "addressType": "string", "simple": {
            "mailingName": "string",
            "addressLine1": "string",
            "city": "string",
            "state": "string",
            "postcode": "string",
            "country": "string",
        } }] },
    })
}

/// What an account of each class carries besides its identity, by `class.type`.
pub fn account_terms(class: &str) -> Value {
    let numbered = json!({ "bsb": "string", "unmaskedAccNum": "string" });
    let tiers = json!([{
        "name": "string",
        "unitOfMeasure": "string",
        "minimumValue": "integer",
        "maximumValue": "integer",
        "rateApplicationMethod": "string",
    }]);
    let fees = json!([{ "name": "string", "feeType": "string" }]);
    let features = json!([{ "featureType": "string" }]);
    let mut shape = match class {
        "transaction" => json!({ "meta": {
            "fees": fees,
            "features": [{ "featureType": "string", "isActivated": "boolean" }],
        } }),
        "savings" => json!({ "depositRate": "string", "meta": {
            "depositRates": [{
                "depositRateType": "string",
                "rate": "string",
                "calculationFrequency": "string",
                "applicationFrequency": "string",
                "tiers": tiers,
            }],
            "fees": "array",
            "features": features,
        } }),
        "credit-card" => json!({ "lendingRate": "string", "meta": {
            "lendingRates": [{ "lendingRateType": "string", "rate": "string" }],
            "fees": fees,
            "features": features,
            "creditCard": {
                "minPaymentAmount": "string",
                "paymentDueAmount": "string",
                "paymentCurrency": "string",
                "paymentDueDate": "string",
            },
        } }),
        "mortgage" => json!({ "lendingRate": "string", "meta": {
            "lendingRates": [{
                "lendingRateType": "string",
                "rate": "string",
                "comparisonRate": "string",
                "repaymentType": "string",
                "loanPurpose": "string",
                "tiers": tiers,
            }],
            "fees": fees,
            "features": features,
            "loan": {
                "startDate": "string",
                "endDate": "string",
                "repaymentType": "string",
                "originalLoanAmount": "string",
                "minInstalmentAmount": "string",
                "nextInstalmentDate": "string",
                "maxRedraw": "string",
                "repaymentFrequency": "string",
                "offsetAccountIds": ["string"],
                "offsetAccountEnabled": "boolean",
            },
        } }),
        other => panic!("no account class {other}"),
    };
    // A card's number is a PAN: no BSB, never unmasked.
    if class != "credit-card" {
        shape
            .as_object_mut()
            .unwrap()
            .extend(numbered.as_object().unwrap().clone());
    }
    shape
}

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

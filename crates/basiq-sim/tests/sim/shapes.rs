//! The fields the simulator promises beyond what Basiq's schemas require (they leave most of
//! `enrich`, `meta` and `profile` optional), for `schema::assert_shape`.

use serde_json::{Value, json};

fn code() -> Value {
    json!({ "code": "string", "title": "string" })
}

/// A transaction's `enrich` with merchant, category and location all known.
pub fn full_enrich() -> Value {
    json!({
        "cleanDescription": "string",
        "tags": ["string"],
        "merchant": {
            "id": "string",
            "businessName": "string",
            "ABN": "string",
            "website": "string",
            "phoneNumber": { "local": "string", "international": "string" },
            "logoMaster": "string",
            "logoThumb": "string",
        },
        "category": {
            "matchType": "string",
            "matchScore": "string",
            "mcc": code(),
            "anzsic": {
                "division": code(),
                "subdivision": code(),
                "group": code(),
                "class": code(),
                "subclass": code(),
            },
        },
        "location": {
            "formattedAddress": "string",
            "routeNo": "string",
            "route": "string",
            "suburb": "string",
            "state": "string",
            "postalCode": "string",
            "country": "string",
            "geometry": { "lat": "string", "lng": "string" },
        },
    })
}

/// An online purchase's `enrich`: the merchant and category, no location (and so no phone).
pub fn online_enrich() -> Value {
    let mut shape = full_enrich();
    shape["merchant"]
        .as_object_mut()
        .unwrap()
        .remove("phoneNumber");
    shape["location"] = json!("null");
    shape
}

/// A purchase from a business Basiq cannot name: categorised by its MCC, nothing else known.
pub fn unlisted_enrich() -> Value {
    let mut shape = full_enrich();
    shape["merchant"] = json!("null");
    shape["location"] = json!("null");
    shape
}

/// A transfer's, salary's or cash withdrawal's `enrich`: a clean description and tags only.
pub fn plain_enrich() -> Value {
    json!({
        "cleanDescription": "string",
        "tags": "array",
        "merchant": "null",
        "category": "null",
        "location": "null",
    })
}

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

//! Transactions, as our API shows them: what `GET /v1/transactions`, `GET /v1/transactions/{id}`
//! and the sync store (`sync.rs`) give, read from Basiq's wire types and borrowing from them.

use serde::Serialize;
use utoipa::ToSchema;

use crate::basiq::types::{self as wire, Text};

/// A transaction; money is a decimal string, exactly as Basiq gives it. Any part Basiq leaves
/// out is `null`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionView<'a> {
    /// Basiq's id. A pending transaction gets a new id when it posts.
    #[schema(value_type = String)]
    pub id: Text<'a>,
    /// `pending` or `posted`.
    #[schema(value_type = Option<String>)]
    pub status: Option<Text<'a>>,
    /// As the bank wrote it, e.g. `WOOLWORTHS 1234 SYDNEY NS AUS`.
    #[schema(value_type = Option<String>)]
    pub description: Option<Text<'a>>,
    /// The originating institution's reference.
    #[schema(value_type = Option<String>)]
    pub reference: Option<Text<'a>>,
    /// Decimal string; negative is money out.
    #[schema(value_type = Option<String>)]
    pub amount: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub currency: Option<Text<'a>>,
    /// The account's balance after it, a decimal string (empty while pending).
    #[schema(value_type = Option<String>)]
    pub balance: Option<Text<'a>>,
    /// `debit` or `credit`.
    #[schema(value_type = Option<String>)]
    pub direction: Option<Text<'a>>,
    /// Basiq's class, e.g. `payment`, `transfer`, `cash-withdrawal`, `bank-fee`.
    #[schema(value_type = Option<String>)]
    pub class: Option<Text<'a>>,
    /// Basiq's sub-class (ANZSIC-based) for payments and some bank fees.
    pub sub_class: Option<CodeTitle<'a>>,
    #[schema(value_type = Option<String>)]
    pub account_id: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub connection_id: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub institution_id: Option<Text<'a>>,
    /// When the user made it, as Basiq gives it (often absent).
    #[schema(value_type = Option<String>)]
    pub transaction_date: Option<Text<'a>>,
    /// When it posted, as Basiq gives it; `null` while pending.
    #[schema(value_type = Option<String>)]
    pub post_date: Option<Text<'a>>,
    pub payment_details: Option<PaymentDetails<'a>>,
    /// What Basiq's classification engine knows: merchant, category and location.
    pub enrich: Option<Enrich<'a>>,
}

/// A code and its title: a sub-class, a merchant category code, a level of ANZSIC.
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeTitle<'a> {
    #[schema(value_type = Option<String>)]
    pub code: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub title: Option<Text<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDetails<'a> {
    pub bpay: Option<Bpay<'a>>,
    /// The initiating institution's six-digit APCA number.
    #[schema(value_type = Option<String>)]
    pub apca_number: Option<Text<'a>>,
}

/// A BPAY payment's biller and customer reference.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Bpay<'a> {
    #[schema(value_type = Option<String>)]
    pub biller_code: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub biller_name: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub crn: Option<Text<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Enrich<'a> {
    /// A readable description, e.g. `Woolworths`.
    #[schema(value_type = Option<String>)]
    pub clean_description: Option<Text<'a>>,
    /// `name:value` tags, e.g. `card:4615`, `income:salary`, `conduct:atm`.
    #[schema(value_type = Option<Vec<String>>)]
    pub tags: Option<Vec<Text<'a>>>,
    pub merchant: Option<Merchant<'a>>,
    pub category: Option<Category<'a>>,
    pub location: Option<Location<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Merchant<'a> {
    #[schema(value_type = Option<String>)]
    pub id: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub business_name: Option<Text<'a>>,
    /// The Australian Business Number.
    #[schema(value_type = Option<String>)]
    pub abn: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub website: Option<Text<'a>>,
    pub phone: Option<Phone<'a>>,
    pub logo: Option<Logo<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Phone<'a> {
    /// e.g. `(02) 9977 0707`.
    #[schema(value_type = Option<String>)]
    pub local: Option<Text<'a>>,
    /// e.g. `+61 2 9977 0707`.
    #[schema(value_type = Option<String>)]
    pub international: Option<Text<'a>>,
}

/// The merchant's logo, as image URLs.
#[derive(Debug, Serialize, ToSchema)]
pub struct Logo<'a> {
    #[schema(value_type = Option<String>)]
    pub master: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub thumb: Option<Text<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Category<'a> {
    /// How the category was found: `merchantFull`, `merchantPartial`, `mcc`, `ml` or `none`.
    #[schema(value_type = Option<String>)]
    pub match_type: Option<Text<'a>>,
    /// Confidence from 0 to 1, a decimal string.
    #[schema(value_type = Option<String>)]
    pub match_score: Option<Text<'a>>,
    /// The merchant category code the bank gave.
    pub mcc: Option<CodeTitle<'a>>,
    pub anzsic: Option<Anzsic<'a>>,
}

/// The ANZSIC 2006 classification at every level, e.g. division `H`, subdivision `45`,
/// group `451`, class `4511`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Anzsic<'a> {
    pub division: Option<CodeTitle<'a>>,
    pub subdivision: Option<CodeTitle<'a>>,
    pub group: Option<CodeTitle<'a>>,
    pub class: Option<CodeTitle<'a>>,
    pub subclass: Option<CodeTitle<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Location<'a> {
    /// e.g. `1/39 E Esplanade, Manly NSW 2095`.
    #[schema(value_type = Option<String>)]
    pub formatted_address: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub route_no: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub route: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub suburb: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub state: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub postal_code: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub country: Option<Text<'a>>,
    pub geometry: Option<Geometry<'a>>,
}

/// Coordinates, as decimal strings.
#[derive(Debug, Serialize, ToSchema)]
pub struct Geometry<'a> {
    #[schema(value_type = Option<String>)]
    pub lat: Option<Text<'a>>,
    #[schema(value_type = Option<String>)]
    pub lng: Option<Text<'a>>,
}

fn code_title(c: wire::CodeTitle<'_>) -> CodeTitle<'_> {
    CodeTitle {
        code: c.code,
        title: c.title,
    }
}

impl<'a> From<&wire::Transaction<'a>> for TransactionView<'a> {
    fn from(t: &wire::Transaction<'a>) -> Self {
        Self {
            id: t.id,
            status: t.status,
            description: t.description,
            reference: t.reference,
            amount: t.amount,
            currency: t.currency,
            balance: t.balance,
            direction: t.direction,
            class: t.class,
            sub_class: t.sub_class.map(code_title),
            account_id: t.account.map(|r| r.0),
            connection_id: t.connection.map(|r| r.0),
            institution_id: t.institution.map(|r| r.0),
            transaction_date: t.transaction_date,
            post_date: t.post_date,
            payment_details: t.payment_details.map(|p| PaymentDetails {
                bpay: p.bpay.map(|b| Bpay {
                    biller_code: b.biller_code,
                    biller_name: b.biller_name,
                    crn: b.crn,
                }),
                apca_number: p.apca_number,
            }),
            enrich: t.enrich.as_ref().map(Enrich::from),
        }
    }
}

impl<'a> From<&wire::Enrich<'a>> for Enrich<'a> {
    fn from(e: &wire::Enrich<'a>) -> Self {
        Self {
            clean_description: e.clean_description,
            tags: e.tags.clone(),
            merchant: e.merchant.map(|m| Merchant {
                id: m.id,
                business_name: m.business_name,
                abn: m.abn,
                website: m.website,
                phone: m.phone_number.map(|p| Phone {
                    local: p.local,
                    international: p.international,
                }),
                logo: (m.logo_master.is_some() || m.logo_thumb.is_some()).then_some(Logo {
                    master: m.logo_master,
                    thumb: m.logo_thumb,
                }),
            }),
            category: e.category.map(|c| Category {
                match_type: c.match_type,
                match_score: c.match_score,
                mcc: c.mcc.map(code_title),
                anzsic: c.anzsic.map(|a| Anzsic {
                    division: a.division.map(code_title),
                    subdivision: a.subdivision.map(code_title),
                    group: a.group.map(code_title),
                    class: a.class.map(code_title),
                    subclass: a.subclass.map(code_title),
                }),
            }),
            location: e.location.map(|l| Location {
                formatted_address: l.formatted_address,
                route_no: l.route_no,
                route: l.route,
                suburb: l.suburb,
                state: l.state,
                postal_code: l.postal_code,
                country: l.country,
                geometry: l.geometry.map(|g| Geometry {
                    lat: g.lat,
                    lng: g.lng,
                }),
            }),
        }
    }
}

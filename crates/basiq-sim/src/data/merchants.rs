//! Who the generated money goes to, and what Basiq's classification engine knows of each: the
//! merchant (name, ABN, website, logo), its category (ANZSIC 2006 class, card-network MCC) and
//! its shops (street address, coordinates, phone).
//!
//! ABNs are the ones the businesses trade under, as far as we know them (each passes the ABN
//! checksum, tested); overseas sellers, registered for GST without an ABN, have an empty one.
//! Street addresses are plausible (real streets in real suburbs, coordinates on the street);
//! phone numbers are in the ranges ACMA reserves for fiction ((0X) 5550 xxxx), so they look
//! real and ring no one.

use super::Rng;

/// A `(code, title)` pair: one level of ANZSIC, or a merchant category code.
pub type Code = (&'static str, &'static str);

/// An ANZSIC 2006 class with the division, subdivision and group above it.
#[derive(Debug)]
pub struct Anzsic {
    pub division: Code,
    pub subdivision: Code,
    pub group: Code,
    pub class: Code,
}

const ELECTRICITY_GAS_WATER: Code = ("D", "Electricity, Gas, Water and Waste Services");
const RETAIL: Code = ("G", "Retail Trade");
const FOOD_SERVICES: Code = ("H", "Accommodation and Food Services");
const TRANSPORT: Code = ("I", "Transport, Postal and Warehousing");
const MEDIA_TELECOMS: Code = ("J", "Information Media and Telecommunications");
const OTHER_SERVICES: Code = ("S", "Other Services");

const OTHER_STORE_RETAIL: Code = ("42", "Other Store-Based Retailing");

pub static ELECTRICITY_RETAILING: Anzsic = Anzsic {
    division: ELECTRICITY_GAS_WATER,
    subdivision: ("26", "Electricity Supply"),
    group: (
        "264",
        "On Selling Electricity and Electricity Market Operation",
    ),
    class: (
        "2640",
        "On Selling Electricity and Electricity Market Operation",
    ),
};
pub static FUEL_RETAILING: Anzsic = Anzsic {
    division: RETAIL,
    subdivision: ("40", "Fuel Retailing"),
    group: ("400", "Fuel Retailing"),
    class: ("4000", "Fuel Retailing"),
};
pub static SUPERMARKETS: Anzsic = Anzsic {
    division: RETAIL,
    subdivision: ("41", "Food Retailing"),
    group: ("411", "Supermarket and Grocery Stores"),
    class: ("4110", "Supermarket and Grocery Stores"),
};
pub static LIQUOR_RETAILING: Anzsic = Anzsic {
    division: RETAIL,
    subdivision: ("41", "Food Retailing"),
    group: ("412", "Specialised Food Retailing"),
    class: ("4123", "Liquor Retailing"),
};
pub static FURNITURE_RETAILING: Anzsic = Anzsic {
    division: RETAIL,
    subdivision: OTHER_STORE_RETAIL,
    group: (
        "421",
        "Furniture, Floor Coverings, Houseware and Textile Goods Retailing",
    ),
    class: ("4211", "Furniture Retailing"),
};
pub static ELECTRONICS_RETAILING: Anzsic = Anzsic {
    division: RETAIL,
    subdivision: OTHER_STORE_RETAIL,
    group: ("422", "Electrical and Electronic Goods Retailing"),
    class: ("4221", "Electrical, Electronic and Gas Appliance Retailing"),
};
pub static HARDWARE_RETAILING: Anzsic = Anzsic {
    division: RETAIL,
    subdivision: OTHER_STORE_RETAIL,
    group: ("423", "Hardware, Building and Garden Supplies Retailing"),
    class: ("4231", "Hardware and Building Supplies Retailing"),
};
pub static DEPARTMENT_STORES: Anzsic = Anzsic {
    division: RETAIL,
    subdivision: OTHER_STORE_RETAIL,
    group: ("426", "Department Stores"),
    class: ("4260", "Department Stores"),
};
pub static STATIONERY_RETAILING: Anzsic = Anzsic {
    division: RETAIL,
    subdivision: OTHER_STORE_RETAIL,
    group: ("427", "Pharmaceutical and Other Store-Based Retailing"),
    class: ("4272", "Stationery Goods Retailing"),
};
pub static NON_STORE_RETAILING: Anzsic = Anzsic {
    division: RETAIL,
    subdivision: (
        "43",
        "Non-Store Retailing and Retail Commission-Based Buying and/or Selling",
    ),
    group: ("431", "Non-Store Retailing"),
    class: ("4310", "Non-Store Retailing"),
};
pub static CAFES_AND_RESTAURANTS: Anzsic = Anzsic {
    division: FOOD_SERVICES,
    subdivision: ("45", "Food and Beverage Services"),
    group: ("451", "Cafes, Restaurants and Takeaway Food Services"),
    class: ("4511", "Cafes and Restaurants"),
};
pub static TAKEAWAY_FOOD: Anzsic = Anzsic {
    division: FOOD_SERVICES,
    subdivision: ("45", "Food and Beverage Services"),
    group: ("451", "Cafes, Restaurants and Takeaway Food Services"),
    class: ("4512", "Takeaway Food Services"),
};
pub static TAXI_AND_RIDESHARE: Anzsic = Anzsic {
    division: TRANSPORT,
    subdivision: ("46", "Road Transport"),
    group: ("462", "Road Passenger Transport"),
    class: ("4623", "Taxi and Other Road Transport"),
};
pub static RAIL_PASSENGER_TRANSPORT: Anzsic = Anzsic {
    division: TRANSPORT,
    subdivision: ("47", "Rail Transport"),
    group: ("472", "Rail Passenger Transport"),
    class: ("4720", "Rail Passenger Transport"),
};
pub static AIR_TRANSPORT: Anzsic = Anzsic {
    division: TRANSPORT,
    subdivision: ("49", "Air and Space Transport"),
    group: ("490", "Air and Space Transport"),
    class: ("4900", "Air and Space Transport"),
};
pub static INTERNET_BROADCASTING: Anzsic = Anzsic {
    division: MEDIA_TELECOMS,
    subdivision: ("57", "Internet Publishing and Broadcasting"),
    group: ("570", "Internet Publishing and Broadcasting"),
    class: ("5700", "Internet Publishing and Broadcasting"),
};
pub static MOBILE_TELECOMS: Anzsic = Anzsic {
    division: MEDIA_TELECOMS,
    subdivision: ("58", "Telecommunications Services"),
    group: ("580", "Telecommunications Services"),
    class: ("5802", "Other Telecommunications Network Operation"),
};
pub static HAIRDRESSING: Anzsic = Anzsic {
    division: OTHER_SERVICES,
    subdivision: ("95", "Personal and Other Services"),
    group: ("951", "Personal Care Services"),
    class: ("9511", "Hairdressing and Beauty Services"),
};
pub static DRY_CLEANING: Anzsic = Anzsic {
    division: OTHER_SERVICES,
    subdivision: ("95", "Personal and Other Services"),
    group: ("953", "Other Personal Services"),
    class: ("9531", "Laundry and Dry-Cleaning Services"),
};

/// A merchant Basiq's engine recognises.
#[derive(Debug)]
pub struct Merchant {
    pub name: &'static str,
    /// Empty where Basiq knows none.
    pub abn: &'static str,
    /// Bare domain: the website is `https://www.{domain}` and it names the logo files.
    pub domain: &'static str,
    pub anzsic: &'static Anzsic,
    /// Known from card payments only: a biller paid by BPAY or direct debit has none.
    pub mcc: Option<Code>,
    pub outlets: Outlets,
    /// How often a card purchase goes here, relative to the others in [`CARD_MERCHANTS`].
    pub weight: u32,
    pub min_cents: i64,
    pub max_cents: i64,
}

impl Merchant {
    /// Where one purchase is made: its statement description, and the shop (none online).
    pub fn outlet(&'static self, rng: &mut Rng) -> (&'static str, Option<&'static Shop>) {
        match &self.outlets {
            Outlets::Online(description) => (description, None),
            Outlets::Shops(shops) => {
                let shop = rng.pick(shops);
                (shop.description, Some(shop))
            }
        }
    }
}

#[derive(Debug)]
pub enum Outlets {
    /// Sells online only, under this statement description: Basiq knows no location or phone.
    Online(&'static str),
    Shops(&'static [Shop]),
}

/// One shop of a merchant, as Basiq locates it.
#[derive(Debug)]
pub struct Shop {
    /// The statement description a purchase there carries.
    pub description: &'static str,
    pub route_no: &'static str,
    pub route: &'static str,
    pub suburb: &'static str,
    pub state: &'static str,
    pub postcode: &'static str,
    /// Decimal degrees, as text: Basiq sends coordinates as strings.
    pub lat: &'static str,
    pub lng: &'static str,
    /// The landline without its area code, e.g. `5550 0117`.
    pub phone: &'static str,
}

impl Shop {
    /// The trunk-less area code of the shop's state.
    pub fn area_code(&self) -> &'static str {
        match self.state {
            "VIC" | "TAS" => "3",
            "QLD" => "7",
            "SA" | "WA" | "NT" => "8",
            _ => "2",
        }
    }
}

#[allow(clippy::too_many_arguments)]
const fn shop(
    description: &'static str,
    route_no: &'static str,
    route: &'static str,
    suburb: &'static str,
    state: &'static str,
    postcode: &'static str,
    (lat, lng): (&'static str, &'static str),
    phone: &'static str,
) -> Shop {
    Shop {
        description,
        route_no,
        route,
        suburb,
        state,
        postcode,
        lat,
        lng,
        phone,
    }
}

/// Merchants card purchases are drawn from, by weight: shops first (about four purchases in
/// five carry a location), then online sellers.
pub static CARD_MERCHANTS: &[Merchant] = &[
    Merchant {
        name: "Woolworths",
        abn: "88000014675",
        domain: "woolworths.com.au",
        anzsic: &SUPERMARKETS,
        mcc: Some(("5411", "Grocery Stores, Supermarkets")),
        outlets: Outlets::Shops(&[
            shop(
                "WOOLWORTHS 1117 NEWTOWN NSW",
                "315",
                "King St",
                "Newtown",
                "NSW",
                "2042",
                ("-33.8979423", "151.1788902"),
                "5550 0117",
            ),
            shop(
                "WOOLWORTHS 1362 BONDI JUNCTION",
                "500",
                "Oxford St",
                "Bondi Junction",
                "NSW",
                "2022",
                ("-33.8915326", "151.2503471"),
                "5550 0362",
            ),
            shop(
                "WOOLWORTHS 3318 RICHMOND VIC",
                "250",
                "Swan St",
                "Richmond",
                "VIC",
                "3121",
                ("-37.8254197", "144.9968452"),
                "5550 0318",
            ),
        ]),
        weight: 16,
        min_cents: 1_200,
        max_cents: 24_000,
    },
    Merchant {
        name: "Coles",
        abn: "45004189708",
        domain: "coles.com.au",
        anzsic: &SUPERMARKETS,
        mcc: Some(("5411", "Grocery Stores, Supermarkets")),
        outlets: Outlets::Shops(&[
            shop(
                "COLES 0456 SOUTH YARRA VIC",
                "500",
                "Chapel St",
                "South Yarra",
                "VIC",
                "3141",
                ("-37.8424603", "144.9952018"),
                "5550 0456",
            ),
            shop(
                "COLES 0733 SURRY HILLS NSW",
                "390",
                "Crown St",
                "Surry Hills",
                "NSW",
                "2010",
                ("-33.8862519", "151.2128304"),
                "5550 0733",
            ),
            shop(
                "COLES 0871 FORTITUDE VALLEY QLD",
                "1000",
                "Ann St",
                "Fortitude Valley",
                "QLD",
                "4006",
                ("-27.4561842", "153.0363517"),
                "5550 0871",
            ),
        ]),
        weight: 14,
        min_cents: 900,
        max_cents: 21_000,
    },
    Merchant {
        name: "Ampol",
        abn: "17000032128",
        domain: "ampol.com.au",
        anzsic: &FUEL_RETAILING,
        mcc: Some(("5541", "Service Stations")),
        outlets: Outlets::Shops(&[
            shop(
                "AMPOL FOODARY NTH PARRAMATTA",
                "429",
                "Church St",
                "North Parramatta",
                "NSW",
                "2151",
                ("-33.8036412", "151.0026307"),
                "5550 0429",
            ),
            shop(
                "AMPOL FOODARY MARRICKVILLE",
                "120",
                "Sydenham Rd",
                "Marrickville",
                "NSW",
                "2204",
                ("-33.9096720", "151.1643505"),
                "5550 0120",
            ),
            shop(
                "AMPOL WOOLLOONGABBA QLD",
                "790",
                "Stanley St",
                "Woolloongabba",
                "QLD",
                "4102",
                ("-27.4873561", "153.0377204"),
                "5550 0790",
            ),
        ]),
        weight: 8,
        min_cents: 3_000,
        max_cents: 11_000,
    },
    Merchant {
        name: "McDonald's",
        abn: "43008496928",
        domain: "mcdonalds.com.au",
        anzsic: &TAKEAWAY_FOOD,
        mcc: Some(("5814", "Fast Food Restaurants")),
        outlets: Outlets::Shops(&[
            shop(
                "MCDONALDS NEWTOWN NSW",
                "200",
                "King St",
                "Newtown",
                "NSW",
                "2042",
                ("-33.8948805", "151.1822937"),
                "5550 0200",
            ),
            shop(
                "MCDONALDS BOURKE ST MELBOURNE",
                "250",
                "Bourke St",
                "Melbourne",
                "VIC",
                "3000",
                ("-37.8133562", "144.9664231"),
                "5550 0250",
            ),
            shop(
                "MCDONALDS RUNDLE MALL ADELAIDE",
                "55",
                "Rundle Mall",
                "Adelaide",
                "SA",
                "5000",
                ("-34.9226381", "138.6021843"),
                "5550 0055",
            ),
        ]),
        weight: 8,
        min_cents: 600,
        max_cents: 3_500,
    },
    Merchant {
        name: "Bunnings Warehouse",
        abn: "26008672179",
        domain: "bunnings.com.au",
        anzsic: &HARDWARE_RETAILING,
        mcc: Some(("5200", "Home Supply Warehouse Stores")),
        outlets: Outlets::Shops(&[
            shop(
                "BUNNINGS 380000 ALEXANDRIA",
                "29",
                "O'Riordan St",
                "Alexandria",
                "NSW",
                "2015",
                ("-33.9071934", "151.1937655"),
                "5550 0380",
            ),
            shop(
                "BUNNINGS 260000 HAWTHORN",
                "230",
                "Burwood Rd",
                "Hawthorn",
                "VIC",
                "3122",
                ("-37.8216548", "145.0296311"),
                "5550 0260",
            ),
        ]),
        weight: 5,
        min_cents: 1_500,
        max_cents: 35_000,
    },
    Merchant {
        name: "Kmart",
        abn: "73004700485",
        domain: "kmart.com.au",
        anzsic: &DEPARTMENT_STORES,
        mcc: Some(("5311", "Department Stores")),
        outlets: Outlets::Shops(&[
            shop(
                "KMART 1077 CHATSWOOD",
                "345",
                "Victoria Ave",
                "Chatswood",
                "NSW",
                "2067",
                ("-33.7965833", "151.1859412"),
                "5550 1077",
            ),
            shop(
                "KMART 1024 CANBERRA CITY",
                "148",
                "Bunda St",
                "Canberra",
                "ACT",
                "2601",
                ("-35.2791460", "149.1334782"),
                "5550 1024",
            ),
        ]),
        weight: 5,
        min_cents: 800,
        max_cents: 15_000,
    },
    Merchant {
        name: "Dan Murphy's",
        abn: "77159767843",
        domain: "danmurphys.com.au",
        anzsic: &LIQUOR_RETAILING,
        mcc: Some(("5921", "Package Stores - Beer, Wine, and Liquor")),
        outlets: Outlets::Shops(&[
            shop(
                "DAN MURPHYS 5123 RANDWICK",
                "125",
                "Belmore Rd",
                "Randwick",
                "NSW",
                "2031",
                ("-33.9146281", "151.2412597"),
                "5550 5123",
            ),
            shop(
                "DAN MURPHYS 3160 PRAHRAN",
                "217",
                "Commercial Rd",
                "Prahran",
                "VIC",
                "3181",
                ("-37.8470355", "144.9902716"),
                "5550 3160",
            ),
        ]),
        weight: 4,
        min_cents: 1_800,
        max_cents: 16_000,
    },
    Merchant {
        name: "JB Hi-Fi",
        abn: "37093114286",
        domain: "jbhifi.com.au",
        anzsic: &ELECTRONICS_RETAILING,
        mcc: Some(("5732", "Electronics Stores")),
        outlets: Outlets::Shops(&[
            shop(
                "JB HI FI SYDNEY CITY",
                "211",
                "Pitt St",
                "Sydney",
                "NSW",
                "2000",
                ("-33.8697715", "151.2083540"),
                "5550 0211",
            ),
            shop(
                "JB HI FI PERTH CITY",
                "700",
                "Hay St",
                "Perth",
                "WA",
                "6000",
                ("-31.9543721", "115.8598114"),
                "5550 0700",
            ),
        ]),
        weight: 3,
        min_cents: 2_000,
        max_cents: 59_900,
    },
    Merchant {
        name: "Officeworks",
        abn: "36004763526",
        domain: "officeworks.com.au",
        anzsic: &STATIONERY_RETAILING,
        mcc: Some(("5943", "Stationery, Office, and School Supply Stores")),
        outlets: Outlets::Shops(&[
            shop(
                "OFFICEWORKS 0612 RUSHCUTTERS BAY",
                "31",
                "Neild Ave",
                "Rushcutters Bay",
                "NSW",
                "2011",
                ("-33.8768112", "151.2281630"),
                "5550 0612",
            ),
            shop(
                "OFFICEWORKS 0321 STH MELBOURNE",
                "242",
                "Normanby Rd",
                "South Melbourne",
                "VIC",
                "3205",
                ("-37.8295871", "144.9490036"),
                "5550 0321",
            ),
        ]),
        weight: 3,
        min_cents: 500,
        max_cents: 45_000,
    },
    Merchant {
        name: "Myer",
        abn: "83004143239",
        domain: "myer.com.au",
        anzsic: &DEPARTMENT_STORES,
        mcc: Some(("5311", "Department Stores")),
        outlets: Outlets::Shops(&[
            shop(
                "MYER SYDNEY CITY",
                "436",
                "George St",
                "Sydney",
                "NSW",
                "2000",
                ("-33.8707163", "151.2075640"),
                "5550 0436",
            ),
            shop(
                "MYER MELBOURNE CITY",
                "314",
                "Bourke St",
                "Melbourne",
                "VIC",
                "3000",
                ("-37.8136840", "144.9641524"),
                "5550 0314",
            ),
        ]),
        weight: 2,
        min_cents: 2_500,
        max_cents: 40_000,
    },
    Merchant {
        name: "Harvey Norman",
        abn: "54003237545",
        domain: "harveynorman.com.au",
        anzsic: &FURNITURE_RETAILING,
        mcc: Some(("5712", "Furniture, Home Furnishings, and Equipment Stores")),
        outlets: Outlets::Shops(&[shop(
            "HARVEY NORMAN MOORE PARK",
            "2A",
            "Todman Ave",
            "Kensington",
            "NSW",
            "2033",
            ("-33.9066902", "151.2134155"),
            "5550 0233",
        )]),
        weight: 1,
        min_cents: 9_900,
        max_cents: 149_900,
    },
    Merchant {
        name: "Uber",
        abn: "",
        domain: "uber.com",
        anzsic: &TAXI_AND_RIDESHARE,
        mcc: Some(("4121", "Taxicabs and Limousines")),
        outlets: Outlets::Online("UBER *TRIP HELP.UBER.COM"),
        weight: 3,
        min_cents: 900,
        max_cents: 6_500,
    },
    Merchant {
        name: "Transport for NSW",
        abn: "18804239602",
        domain: "transportnsw.info",
        anzsic: &RAIL_PASSENGER_TRANSPORT,
        mcc: Some((
            "4111",
            "Local and Suburban Commuter Passenger Transportation",
        )),
        outlets: Outlets::Online("TRANSPORTFORNSW OPAL CHIPPENDALE"),
        weight: 2,
        min_cents: 1_000,
        max_cents: 5_000,
    },
    Merchant {
        name: "Amazon Australia",
        abn: "30616935623",
        domain: "amazon.com.au",
        anzsic: &NON_STORE_RETAILING,
        mcc: Some(("5999", "Miscellaneous and Specialty Retail Stores")),
        outlets: Outlets::Online("AMAZON AU MARKETPLACE SYDNEY SOUTH"),
        weight: 2,
        min_cents: 1_200,
        max_cents: 18_000,
    },
    Merchant {
        name: "Qantas",
        abn: "16009661901",
        domain: "qantas.com",
        anzsic: &AIR_TRANSPORT,
        mcc: Some(("4511", "Airlines and Air Carriers")),
        outlets: Outlets::Online("QANTAS AIRWAYS MASCOT"),
        weight: 1,
        min_cents: 12_000,
        max_cents: 89_000,
    },
];

/// Monthly card subscriptions (overseas sellers: no ABN).
pub static NETFLIX: Merchant = Merchant {
    name: "Netflix",
    abn: "",
    domain: "netflix.com",
    anzsic: &INTERNET_BROADCASTING,
    mcc: Some((
        "4899",
        "Cable, Satellite, and Other Pay Television and Radio Services",
    )),
    outlets: Outlets::Online("NETFLIX.COM MELBOURNE AUS"),
    weight: 0,
    min_cents: 1_099,
    max_cents: 2_899,
};
pub static SPOTIFY: Merchant = Merchant {
    name: "Spotify",
    abn: "",
    domain: "spotify.com",
    anzsic: &INTERNET_BROADCASTING,
    mcc: Some(("5815", "Digital Goods Media - Books, Movies, Music")),
    outlets: Outlets::Online("SPOTIFY P2C4E6A8B0 SYDNEY"),
    weight: 0,
    min_cents: 1_399,
    max_cents: 2_399,
};

/// A bill paid from the everyday account, with the payment details the bank adds.
#[derive(Debug)]
pub struct Biller {
    pub merchant: Merchant,
    pub pay: BillPay,
}

#[derive(Debug)]
pub enum BillPay {
    Bpay {
        biller_code: &'static str,
        biller_name: &'static str,
    },
    /// A direct debit, with the debit user's APCA number.
    DirectDebit { apca_number: &'static str },
}

pub static ORIGIN: Biller = Biller {
    merchant: Merchant {
        name: "Origin Energy",
        abn: "30000051696",
        domain: "originenergy.com.au",
        anzsic: &ELECTRICITY_RETAILING,
        mcc: None,
        outlets: Outlets::Online("BPAY ORIGIN ENERGY"),
        weight: 0,
        min_cents: 8_000,
        max_cents: 42_000,
    },
    pay: BillPay::Bpay {
        biller_code: "4655",
        biller_name: "ORIGIN ENERGY",
    },
};
pub static TELSTRA: Biller = Biller {
    merchant: Merchant {
        name: "Telstra",
        abn: "33051775556",
        domain: "telstra.com.au",
        anzsic: &MOBILE_TELECOMS,
        mcc: None,
        outlets: Outlets::Online("DIRECT DEBIT TELSTRA CORP LTD"),
        weight: 0,
        min_cents: 6_500,
        max_cents: 14_000,
    },
    pay: BillPay::DirectDebit {
        apca_number: "062934",
    },
};

/// A small business Basiq cannot name: the purchase is categorised from its MCC alone.
#[derive(Debug)]
pub struct Unlisted {
    pub description: &'static str,
    pub clean_description: &'static str,
    pub anzsic: &'static Anzsic,
    pub mcc: Code,
    /// The payment service it takes cards through, as Basiq tags it.
    pub tag: &'static str,
    pub min_cents: i64,
    pub max_cents: i64,
}

pub static UNLISTED: &[Unlisted] = &[
    Unlisted {
        description: "SQ *LITTLE MARLOW CAFE SURRY HILLS",
        clean_description: "Little Marlow Cafe",
        anzsic: &CAFES_AND_RESTAURANTS,
        mcc: ("5812", "Eating Places and Restaurants"),
        tag: "third-party:sq",
        min_cents: 450,
        max_cents: 3_800,
    },
    Unlisted {
        description: "SQ *FRESH CUTS BARBERS NEWTOWN",
        clean_description: "Fresh Cuts Barbers",
        anzsic: &HAIRDRESSING,
        mcc: ("7230", "Barber and Beauty Shops"),
        tag: "third-party:sq",
        min_cents: 2_500,
        max_cents: 6_000,
    },
    Unlisted {
        description: "PAYPAL *HARBOURDRYCL 4029357733",
        clean_description: "Harbour Dry Cleaners",
        anzsic: &DRY_CLEANING,
        mcc: ("7216", "Dry Cleaners"),
        tag: "third-party:paypal",
        min_cents: 1_200,
        max_cents: 7_500,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn every_merchant() -> impl Iterator<Item = &'static Merchant> {
        CARD_MERCHANTS
            .iter()
            .chain([&NETFLIX, &SPOTIFY, &ORIGIN.merchant, &TELSTRA.merchant])
    }

    /// The ABN checksum: weights over the digits (the first less one), modulo 89.
    fn abn_checks(abn: &str) -> bool {
        const WEIGHTS: [u32; 11] = [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19];
        let digits: Option<Vec<u32>> = abn.chars().map(|c| c.to_digit(10)).collect();
        match digits {
            Some(mut d) if d.len() == 11 && d[0] > 0 => {
                d[0] -= 1;
                d.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum::<u32>() % 89 == 0
            }
            _ => false,
        }
    }

    #[test]
    fn every_abn_passes_the_abn_checksum() {
        assert!(abn_checks("51824753556"), "the ATO's own example");
        assert!(!abn_checks("51824753557"));
        for m in every_merchant().filter(|m| !m.abn.is_empty()) {
            assert!(abn_checks(m.abn), "{}: {}", m.name, m.abn);
        }
    }

    #[test]
    fn every_anzsic_class_sits_under_its_group_subdivision_and_division() {
        // ANZSIC 2006 subdivisions are numbered within their division's range.
        let division_of = |subdivision: u32| match subdivision {
            26..=29 => "D",
            39..=43 => "G",
            44..=45 => "H",
            46..=53 => "I",
            54..=60 => "J",
            94..=96 => "S",
            other => panic!("no division tabled for subdivision {other}"),
        };
        let classes = every_merchant()
            .map(|m| m.anzsic)
            .chain(UNLISTED.iter().map(|u| u.anzsic));
        for a in classes {
            assert_eq!(a.class.0.len(), 4, "{a:?}");
            assert!(a.class.0.starts_with(a.group.0), "{a:?}");
            assert_eq!(a.group.0.len(), 3, "{a:?}");
            assert!(a.group.0.starts_with(a.subdivision.0), "{a:?}");
            assert_eq!(a.division.0, division_of(a.subdivision.0.parse().unwrap()));
        }
    }

    #[test]
    fn every_shop_is_in_australia_with_a_fictional_landline() {
        for m in every_merchant() {
            let Outlets::Shops(shops) = &m.outlets else {
                continue;
            };
            for s in *shops {
                let (lat, lng): (f64, f64) = (s.lat.parse().unwrap(), s.lng.parse().unwrap());
                assert!((-44.0..=-10.0).contains(&lat), "{}", s.description);
                assert!((112.0..=154.0).contains(&lng), "{}", s.description);
                assert_eq!(s.postcode.len(), 4, "{}", s.description);
                assert!(s.phone.starts_with("5550 "), "{}", s.description);
            }
        }
    }

    #[test]
    fn merchant_category_codes_are_four_digits() {
        let mccs = every_merchant()
            .filter_map(|m| m.mcc)
            .chain(UNLISTED.iter().map(|u| u.mcc));
        for (code, title) in mccs {
            assert!(code.len() == 4 && code.chars().all(|c| c.is_ascii_digit()));
            assert!(!title.is_empty());
        }
    }
}

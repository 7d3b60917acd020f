//! Accounts and transactions, from Basiq's JSON to ours in one pass: the string fields we keep
//! are copied out as Basiq wrote them (quotes and escapes included), never decoded and encoded
//! again, and everything else is skipped. This is the hot path: a 100-row transactions page is
//! ~60 KB, and a general-purpose parse-then-serialise cost several times what the two socket
//! hops do.
//!
//! The reader is strict: whatever it skips or copies must be valid JSON (RFC 8259: no control
//! characters in strings, only JSON escapes, paired surrogates, numbers in JSON's grammar, at
//! most [`MAX_DEPTH`] levels of nesting, nothing after the value), so what we copy out is valid
//! JSON too. The tests check it against `serde_json` on valid, broken and mutated input.

use std::borrow::Cow;

/// Nesting deeper than this is refused (as `serde_json` does), so the reader's recursion is
/// bounded whatever Basiq sends.
pub const MAX_DEPTH: u32 = 128;

/// Why a body could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickError {
    pub what: &'static str,
    pub at: usize,
}

impl std::fmt::Display for PickError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

type Result<T> = std::result::Result<T, PickError>;

/// A strict, allocation-free JSON reader over validated UTF-8.
struct Reader<'a> {
    s: &'a [u8],
    i: usize,
    depth: u32,
    /// Whether the last string read had an escape.
    escaped: bool,
}

/// One bit per byte of `chunk` that ends a run of plain string content: `"`, `\` or a control
/// character. Exact: SSE2, which every x86-64 has.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn specials16(chunk: &[u8; 16]) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86-64 baseline, so every intrinsic here is available;
    // `chunk` is 16 readable bytes and `loadu` has no alignment requirement.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // b < 0x20 exactly when max(b, 0x1f) == 0x1f (unsigned).
        let control = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use specials16_portable as specials16;

/// The same for other targets, eight bytes at a time in a `u64`: the lowest flag is exact,
/// higher ones may be spurious (the caller checks the byte it stops at).
#[cfg(any(not(all(target_arch = "x86_64", target_feature = "sse2")), test))]
#[inline(always)]
fn specials16_portable(chunk: &[u8; 16]) -> u32 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte of `w` that is `"`, `\` or below 0x20.
    let string_specials = |w: u64| {
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
        let quote = zero(w ^ (ONES * u64::from(b'"')));
        let backslash = zero(w ^ (ONES * u64::from(b'\\')));
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
        quote | backslash | control
    };
    let low = string_specials(u64::from_le_bytes(chunk[..8].try_into().expect("8 bytes")));
    let high = string_specials(u64::from_le_bytes(chunk[8..].try_into().expect("8 bytes")));
    let bits =
        |flags: u64| (0..8).fold(0u32, |m, k| m | (((flags >> (8 * k + 7)) & 1) as u32) << k);
    bits(low) | bits(high) << 8
}

impl<'a> Reader<'a> {
    /// The text must be UTF-8 (a `&str`): the reader then only looks at ASCII bytes, and any
    /// slice it returns starts and ends on one.
    fn new(text: &'a str) -> Self {
        Self {
            s: text.as_bytes(),
            i: 0,
            depth: 0,
            escaped: false,
        }
    }

    fn fail<T>(&self, what: &'static str) -> Result<T> {
        Err(PickError { what, at: self.i })
    }

    /// The next byte that is not whitespace, without consuming it.
    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        // JSON's whitespace (space, \n, \r, \t), as bits of one mask.
        const WHITESPACE: u64 = 1 << b' ' | 1 << b'\n' | 1 << b'\r' | 1 << b'\t';
        while let Some(&b) = self.s.get(self.i) {
            if b > b' ' || WHITESPACE & (1 << b) == 0 {
                return Some(b);
            }
            self.i += 1;
        }
        None
    }

    fn eat(&mut self, byte: u8, what: &'static str) -> Result<()> {
        if self.peek() == Some(byte) {
            self.i += 1;
            Ok(())
        } else {
            self.fail(what)
        }
    }

    fn end(&mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.fail("trailing characters"),
        }
    }

    fn hex4(&mut self) -> Result<u16> {
        let digits = self.s.get(self.i..self.i + 4).unwrap_or_default();
        let text = std::str::from_utf8(digits).unwrap_or_default();
        match (digits.len(), u16::from_str_radix(text, 16)) {
            (4, Ok(v)) if digits.iter().all(u8::is_ascii_hexdigit) => {
                self.i += 4;
                Ok(v)
            }
            _ => self.fail("invalid \\u escape"),
        }
    }

    /// A string's raw text, quotes included.
    #[inline(always)]
    fn string(&mut self) -> Result<&'a [u8]> {
        if self.peek() != Some(b'"') {
            return self.fail("expected a string");
        }
        let (s, start) = (self.s, self.i);
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            // Plain content sixteen bytes at a time, then the byte that stopped it.
            if let Some(chunk) = s.get(i..i + 16) {
                let flags = specials16(chunk.try_into().expect("16 bytes"));
                if flags == 0 {
                    i += 16;
                    continue;
                }
                i += flags.trailing_zeros() as usize;
            }
            match s.get(i) {
                Some(b'"') => {
                    self.i = i + 1;
                    self.escaped = escaped;
                    return Ok(&s[start..self.i]);
                }
                Some(b'\\') => {
                    escaped = true;
                    self.i = i + 1;
                    self.escape()?;
                    i = self.i;
                }
                Some(&b) if b < 0x20 => {
                    self.i = i;
                    return self.fail("control character in a string");
                }
                // A spurious flag, or plain content in the body's last sixteen bytes.
                Some(_) => i += 1,
                None => {
                    self.i = i;
                    return self.fail("unterminated string");
                }
            }
        }
    }

    /// What follows a backslash in a string.
    fn escape(&mut self) -> Result<()> {
        match self.s.get(self.i) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
            Some(b'u') => {
                self.i += 1;
                let unit = self.hex4()?;
                if (0xDC00..0xE000).contains(&unit) {
                    return self.fail("lone low surrogate");
                }
                if (0xD800..0xDC00).contains(&unit) {
                    let low = if self.s.get(self.i..self.i + 2) == Some(b"\\u") {
                        self.i += 2;
                        self.hex4()?
                    } else {
                        0
                    };
                    if !(0xDC00..0xE000).contains(&low) {
                        return self.fail("lone high surrogate");
                    }
                }
            }
            _ => return self.fail("invalid escape"),
        }
        Ok(())
    }

    fn digits(&mut self) -> usize {
        let n = self.s[self.i..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        self.i += n;
        n
    }

    fn number(&mut self) -> Result<()> {
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.s.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.fail("invalid number"),
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return self.fail("invalid number");
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return self.fail("invalid number");
            }
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Result<()> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            self.fail("invalid literal")
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail("nested too deeply");
        }
        Ok(())
    }

    /// Any value, checked and passed over.
    fn skip(&mut self) -> Result<()> {
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => self.object(|r, _| r.skip()),
            Some(b'[') => self.array(|r| r.skip()),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.fail("expected a value"),
        }
    }

    /// `open`, items separated by commas, `close`: an object's or an array's frame. `item` reads
    /// one item.
    fn sequence(
        &mut self,
        (open, close): (u8, u8),
        mut item: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        self.enter()?;
        if self.peek() != Some(open) {
            return self.fail(if open == b'{' {
                "expected an object"
            } else {
                "expected an array"
            });
        }
        self.i += 1;
        if self.peek() == Some(close) {
            self.i += 1;
        } else {
            loop {
                item(self)?;
                match self.peek() {
                    Some(b',') => self.i += 1,
                    Some(b) if b == close => {
                        self.i += 1;
                        break;
                    }
                    _ => {
                        return self.fail(if close == b'}' {
                            "expected ',' or '}'"
                        } else {
                            "expected ',' or ']'"
                        });
                    }
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// An object: `entry` is called with each key (decoded) and must read its value.
    fn object(
        &mut self,
        mut entry: impl FnMut(&mut Self, Cow<'a, [u8]>) -> Result<()>,
    ) -> Result<()> {
        self.sequence((b'{', b'}'), |r| {
            let raw = r.string()?;
            let key = key_name(raw, r.escaped);
            r.eat(b':', "expected ':'")?;
            entry(r, key)
        })
    }

    /// An array: `item` is called for each element and must read it.
    fn array(&mut self, item: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.sequence((b'[', b']'), item)
    }

    /// A string's raw text, or `None` for `null`; anything else is refused.
    #[inline(always)]
    fn string_or_null(&mut self) -> Result<Option<&'a [u8]>> {
        match self.peek() {
            Some(b'n') => self.literal(b"null").map(|()| None),
            _ => self.string().map(Some),
        }
    }

    /// A string; anything else is passed over as `None`.
    fn string_or_skip(&mut self) -> Result<Option<&'a [u8]>> {
        match self.peek() {
            Some(b'"') => self.string().map(Some),
            _ => self.skip().map(|()| None),
        }
    }

    /// A string, or the string `key` of an object; anything else is passed over as `None`.
    fn string_or_field(&mut self, key: &str) -> Result<Option<&'a [u8]>> {
        if self.peek() != Some(b'{') {
            return self.string_or_skip();
        }
        let mut found = None;
        self.object(|r, k| {
            if *k == *key.as_bytes() {
                found = r.string_or_skip()?;
                Ok(())
            } else {
                r.skip()
            }
        })?;
        Ok(found)
    }
}

/// A key's name: its text between the quotes, decoded in the rare case it has escapes.
fn key_name(raw: &[u8], escaped: bool) -> Cow<'_, [u8]> {
    if escaped {
        Cow::Owned(decode(raw).into_bytes())
    } else {
        Cow::Borrowed(&raw[1..raw.len() - 1])
    }
}

/// How a field is read.
#[derive(Clone, Copy)]
enum Take {
    /// A string, or null; anything else refuses the body.
    Str,
    /// Required: a string.
    Required,
    /// A string, or the string `.0` of an object (`{"id": …}`); anything else is left out.
    StrOrField(&'static str),
    /// An account's `class`: `{type, product}`, or a bare string (the type).
    Class,
}

/// One of our fields: Basiq's name, ours, and how it is read.
struct Field {
    basiq: &'static str,
    ours: &'static str,
    /// `"ours":`, written before the value.
    key: &'static str,
    take: Take,
}

macro_rules! field {
    ($basiq:literal, $ours:literal, $take:expr) => {
        Field {
            basiq: $basiq,
            ours: $ours,
            key: concat!("\"", $ours, "\":"),
            take: $take,
        }
    };
}

/// `AccountView`'s fields, in order.
const ACCOUNT: &[Field] = &[
    field!("id", "id", Take::Required),
    field!("name", "name", Take::Str),
    field!("accountNo", "accountNo", Take::Str),
    field!("balance", "balance", Take::Str),
    field!("availableFunds", "availableFunds", Take::Str),
    field!("creditLimit", "creditLimit", Take::Str),
    field!("currency", "currency", Take::Str),
    field!("class", "class", Take::Class),
    field!("connection", "connectionId", Take::StrOrField("id")),
    field!("institution", "institutionId", Take::StrOrField("id")),
    field!("lastUpdated", "lastUpdated", Take::Str),
    field!("status", "status", Take::Str),
];

/// `TransactionView`'s fields, in order.
const TRANSACTION: &[Field] = &[
    field!("id", "id", Take::Required),
    field!("status", "status", Take::Str),
    field!("description", "description", Take::Str),
    field!("amount", "amount", Take::Str),
    field!("currency", "currency", Take::Str),
    field!("account", "accountId", Take::StrOrField("id")),
    field!("balance", "balance", Take::Str),
    field!("direction", "direction", Take::Str),
    field!("class", "class", Take::Str),
    field!("subClass", "subClass", Take::StrOrField("title")),
    field!("connection", "connectionId", Take::StrOrField("id")),
    field!("institution", "institutionId", Take::StrOrField("id")),
    field!("transactionDate", "transactionDate", Take::Str),
    field!("postDate", "postDate", Take::Str),
];

/// Our field names, in the order we write them (the OpenAPI schema is checked against these).
pub fn account_fields() -> impl Iterator<Item = &'static str> {
    ACCOUNT.iter().map(|f| f.ours)
}

pub fn transaction_fields() -> impl Iterator<Item = &'static str> {
    TRANSACTION.iter().map(|f| f.ours)
}

/// What was read for one field: a raw string (two for a `class`), or nothing yet.
#[derive(Clone, Copy, Default)]
struct Slot<'a> {
    seen: bool,
    value: Option<&'a [u8]>,
    product: Option<&'a [u8]>,
}

const MAX_FIELDS: usize = 16;

/// Reads one object of `fields` and writes it in our shape.
fn pick_object(r: &mut Reader<'_>, fields: &[Field], out: &mut Vec<u8>) -> Result<()> {
    let mut slots = [Slot::default(); MAX_FIELDS];
    let start = r.i;
    // Basiq sends fields in a steady order: look after the last one found first.
    let mut hint = 0;
    r.object(|r, key| {
        let is = |n: usize| fields.get(n).is_some_and(|f| *f.basiq.as_bytes() == *key);
        let found = if is(hint) {
            Some(hint)
        } else {
            (0..fields.len()).find(|&n| is(n))
        };
        let Some(n) = found else {
            return r.skip();
        };
        hint = n + 1;
        let slot = &mut slots[n];
        if slot.seen {
            return r.fail("duplicate field");
        }
        slot.seen = true;
        match fields[n].take {
            Take::Str | Take::Required => slot.value = r.string_or_null()?,
            Take::StrOrField(key) => slot.value = r.string_or_field(key)?,
            Take::Class => match r.peek() {
                Some(b'{') => {
                    let (mut kind, mut product) = (None, None);
                    r.object(|r, k| {
                        match &*k {
                            b"type" => kind = r.string_or_skip()?,
                            b"product" => product = r.string_or_skip()?,
                            _ => r.skip()?,
                        }
                        Ok(())
                    })?;
                    slot.value = kind;
                    slot.product = product;
                }
                _ => slot.value = r.string_or_skip()?,
            },
        }
        Ok(())
    })?;
    out.push(b'{');
    for (n, (f, slot)) in fields.iter().zip(&slots).enumerate() {
        if matches!(f.take, Take::Required) && slot.value.is_none() {
            return Err(PickError {
                what: "a required field is missing or null",
                at: start,
            });
        }
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(f.key.as_bytes());
        if matches!(f.take, Take::Class) {
            out.extend_from_slice(b"{\"type\":");
            write_raw(out, slot.value);
            out.extend_from_slice(b",\"product\":");
            write_raw(out, slot.product);
            out.push(b'}');
        } else {
            write_raw(out, slot.value);
        }
    }
    out.push(b'}');
    Ok(())
}

fn write_raw(out: &mut Vec<u8>, value: Option<&[u8]>) {
    out.extend_from_slice(value.unwrap_or(b"null"));
}

/// Reads a top-level `{"data": [objects…], "links": {"next": …}}` and writes our
/// `{"data":[…]` (no closing brace: the caller adds its own fields). Returns `links.next`,
/// decoded. A missing `data` is an empty list.
fn pick_list(text: &str, fields: &[Field], out: &mut Vec<u8>) -> Result<Option<String>> {
    debug_assert!(fields.len() <= MAX_FIELDS);
    let mut r = Reader::new(text);
    let mut next = None;
    let mut seen_data = false;
    out.extend_from_slice(b"{\"data\":[");
    r.object(|r, key| match &*key {
        b"data" => {
            if std::mem::replace(&mut seen_data, true) {
                return r.fail("duplicate field");
            }
            let mut first = true;
            r.array(|r| {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
                pick_object(r, fields, out)
            })
        }
        b"links" if r.peek() == Some(b'{') => r.object(|r, key| match &*key {
            b"next" => {
                next = r.string_or_null()?.map(decode);
                Ok(())
            }
            _ => r.skip(),
        }),
        _ => r.skip(),
    })?;
    r.end()?;
    out.push(b']');
    Ok(next)
}

/// A raw string's value (the reader has checked it).
fn decode(raw: &[u8]) -> String {
    serde_json::from_slice(raw).unwrap_or_default()
}

/// `GET /users/{id}/accounts` → our `{"data":[AccountView…]}`.
pub fn accounts(text: &str, out: &mut Vec<u8>) -> Result<()> {
    pick_list(text, ACCOUNT, out)?;
    out.push(b'}');
    Ok(())
}

/// `GET /users/{id}/accounts/{id}` → our `AccountView`.
pub fn account(text: &str, out: &mut Vec<u8>) -> Result<()> {
    let mut r = Reader::new(text);
    pick_object(&mut r, ACCOUNT, out)?;
    r.end()
}

/// A transactions page → our `{"data":[TransactionView…]` without its closing brace (the
/// caller adds `nextCursor`), and the page's `links.next`.
pub fn transactions(text: &str, out: &mut Vec<u8>) -> Result<Option<String>> {
    pick_list(text, TRANSACTION, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn accounts_of(text: &str) -> Result<Value> {
        let mut out = Vec::new();
        accounts(text, &mut out)?;
        Ok(serde_json::from_slice(&out).expect("valid JSON out"))
    }

    fn transactions_of(text: &str) -> Result<(Value, Option<String>)> {
        let mut out = Vec::new();
        let next = transactions(text, &mut out)?;
        out.push(b'}');
        Ok((serde_json::from_slice(&out).expect("valid JSON out"), next))
    }

    #[test]
    fn accounts_are_renamed_and_both_class_shapes_read() {
        let v = accounts_of(
            r#"{"type":"list","data":[
              {"type":"account","id":"a1","name":"Everyday","accountNo":"123","balance":"-1.50",
               "availableFunds":"10.00","currency":"AUD","class":{"type":"transaction","product":"Basic"},
               "connection":"c1","institution":{"id":"AU00000","links":{}},"lastUpdated":"2026-01-01T00:00:00Z",
               "status":"available","links":{"self":"x"}},
              {"id":"a2","class":"savings","connection":7,"creditLimit":null}],
              "links":{"self":"x"}}"#,
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"data": [
                {"id": "a1", "name": "Everyday", "accountNo": "123", "balance": "-1.50",
                 "availableFunds": "10.00", "creditLimit": null, "currency": "AUD",
                 "class": {"type": "transaction", "product": "Basic"}, "connectionId": "c1",
                 "institutionId": "AU00000", "lastUpdated": "2026-01-01T00:00:00Z", "status": "available"},
                {"id": "a2", "name": null, "accountNo": null, "balance": null,
                 "availableFunds": null, "creditLimit": null, "currency": null,
                 "class": {"type": "savings", "product": null}, "connectionId": null,
                 "institutionId": null, "lastUpdated": null, "status": null}
            ]})
        );
        let mut out = Vec::new();
        account(r#"{"id":"a3","balance":"5"}"#, &mut out).unwrap();
        let one: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(one["id"], "a3");
        assert_eq!(one["balance"], "5");
    }

    #[test]
    fn transactions_keep_their_strings_as_sent_and_give_the_next_link() {
        let (v, next) = transactions_of(
            r#"{"type":"list","count":2,"size":2,"data":[
              {"type":"transaction","id":"t1","status":"posted","description":"CAF\u00c9 \"7\" \ud83d\ude00",
               "amount":"-1.50","currency":"AUD","account":{"id":"a1"},"balance":"3.00","direction":"debit",
               "class":"payment","subClass":{"code":"411","title":"Supermarkets"},"institution":"AU00000",
               "connection":"c1","transactionDate":"2026-01-01","postDate":null,"enrich":{"x":[1,2.5e3,true,false,null]}},
              {"id":"t2","subClass":"Groceries","account":"a2"}],
              "links":{"self":"x","next":"https:\/\/x\/users\/u\/transactions?next=2"}}"#,
        )
        .unwrap();
        assert_eq!(
            next.as_deref(),
            Some("https://x/users/u/transactions?next=2")
        );
        let t = &v["data"][0];
        assert_eq!(t["description"], "CAFÉ \"7\" 😀");
        assert_eq!(t["accountId"], "a1");
        assert_eq!(t["subClass"], "Supermarkets");
        assert_eq!(t["postDate"], Value::Null);
        assert_eq!(v["data"][1]["subClass"], "Groceries");
        assert_eq!(v["data"][1]["accountId"], "a2");
        let names: Vec<&String> = t.as_object().unwrap().keys().collect();
        assert_eq!(names.len(), TRANSACTION.len());
        let (empty, next) = transactions_of(r#"{"links":{"next":null}}"#).unwrap();
        assert_eq!(empty, json!({"data": []}));
        assert_eq!(next, None);
    }

    #[test]
    fn a_body_that_is_not_strict_json_or_not_the_expected_shape_is_refused() {
        for bad in [
            r#"{"data":[{"id":"t1","amount":-1.5}]}"#,
            r#"{"data":[{"id":7}]}"#,
            r#"{"data":[{"amount":"1.00"}]}"#,
            r#"{"data":[{"id":null}]}"#,
            r#"{"data":[{"id":"t1","id":"t2"}]}"#,
            r#"{"data":[],"data":[]}"#,
            r#"{"data":{}}"#,
            r#"{"data":[{"id":"bad \q escape"}]}"#,
            "{\"data\":[{\"id\":\"raw\ncontrol\"}]}",
            r#"{"data":[{"id":"lone \ud800 surrogate"}]}"#,
            r#"{"data":[{"id":"lone \udc00 surrogate"}]}"#,
            r#"{"data":[{"id":"t1","enrich":{"note":"bad \x escape where we skip"}}]}"#,
            r#"{"data":[{"id":"t1","enrich":[01]}]}"#,
            r#"{"data":[{"id":"t1","enrich":[1.]}]}"#,
            r#"{"data":[{"id":"t1","enrich":[tru]}]}"#,
            r#"{"data":[{"id":"t1",}]}"#,
            r#"{"data":[{"id":"t1"}]} trailing"#,
            r#"{"data":[{"id":"t1"}"#,
            r#"{"data":[{"id":"t1"#,
            "",
            "[]",
        ] {
            assert!(transactions_of(bad).is_err(), "{bad}");
        }
        let deep = format!(
            "{{\"data\":[{{\"id\":\"t\",\"x\":{}{}}}]}}",
            "[".repeat(200),
            "]".repeat(200)
        );
        assert_eq!(
            transactions_of(&deep).unwrap_err().what,
            "nested too deeply"
        );
    }

    #[test]
    fn a_string_ends_at_its_first_quote_backslash_or_control_character_wherever_it_falls() {
        // Across two sixteen-byte chunks and the byte-by-byte tail.
        for pos in 0..40 {
            for b in 0u8..0x80 {
                let mut content = vec![b'a'; 40];
                content[pos] = b;
                let text = format!("\"{}\"", String::from_utf8(content).unwrap());
                let got = Reader::new(&text).string();
                match b {
                    b'"' => assert_eq!(got.unwrap(), &text.as_bytes()[..pos + 2]),
                    // `\a` is no escape; at the end, `\"` escapes the closing quote.
                    b'\\' if pos == 39 => assert_eq!(got.unwrap_err().what, "unterminated string"),
                    b'\\' => assert_eq!(got.unwrap_err().what, "invalid escape"),
                    0..0x20 => assert_eq!(got.unwrap_err().what, "control character in a string"),
                    _ => assert_eq!(got.unwrap(), text.as_bytes()),
                }
            }
        }
        let text = "\"é €𝄞 multi-byte text, longer than eight bytes\"";
        assert_eq!(Reader::new(text).string().unwrap(), text.as_bytes());
    }

    #[test]
    fn sixteen_bytes_are_flagged_exactly_and_the_portable_scan_finds_the_same_first() {
        let special = |b: u8| b == b'"' || b == b'\\' || b < 0x20;
        for pos in 0..16 {
            for b in 0..=u8::MAX {
                let mut chunk = [b'a'; 16];
                // A byte of a multi-byte character elsewhere, which is never special.
                chunk[(pos + 7) % 16] = 0xc3;
                chunk[pos] = b;
                let exact = (0..16).fold(0u32, |m, k| m | u32::from(special(chunk[k])) << k);
                let got = specials16(&chunk);
                #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
                assert_eq!(got, exact, "{chunk:?}");
                assert_eq!(got.trailing_zeros(), exact.trailing_zeros(), "{chunk:?}");
                let portable = specials16_portable(&chunk);
                assert_eq!(
                    portable.trailing_zeros(),
                    exact.trailing_zeros(),
                    "{chunk:?}"
                );
            }
        }
    }

    /// A tiny deterministic generator, so the mutation test needs no dependency.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) as usize) % n
        }
    }

    #[test]
    fn on_mutated_pages_it_accepts_only_valid_json_and_agrees_with_serde_json() {
        let base = r#"{"type":"list","data":[{"id":"t1","description":"A \"b\" \u00e9\\","amount":"-1.50",
            "account":{"id":"a1"},"subClass":{"title":"S"},"postDate":null,"enrich":{"n":[1,-2.5e-3,true,false,null],"o":{}}},
            {"id":"t2","class":"payment"}],"links":{"next":"https://x/users/u/transactions?next=2"}}"#;
        let alphabet: &[u8] = b"{}[]\",:\\/ubfnrt0123456789.-+eE \n\tadx";
        let mut rng = Lcg(7);
        let mut accepted = 0;
        for _ in 0..20_000 {
            let mut bytes = base.as_bytes().to_vec();
            for _ in 0..=rng.next(3) {
                let at = rng.next(bytes.len());
                match rng.next(3) {
                    0 => bytes[at] = alphabet[rng.next(alphabet.len())],
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, alphabet[rng.next(alphabet.len())]),
                }
            }
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            let ours = transactions_of(text);
            if serde_json::from_str::<Value>(text).is_err() {
                assert!(ours.is_err(), "accepted invalid JSON: {text}");
                continue;
            }
            // Valid JSON: we may refuse it for its shape, but what we write must say what it said.
            if let Ok((v, _)) = ours {
                accepted += 1;
                let theirs: Value = serde_json::from_str(text).unwrap();
                let ours = v["data"].as_array().unwrap();
                let theirs = theirs["data"].as_array().cloned().unwrap_or_default();
                assert_eq!(ours.len(), theirs.len(), "rows in {text}");
                for (ours, theirs) in ours.iter().zip(&theirs) {
                    for f in TRANSACTION
                        .iter()
                        .filter(|f| matches!(f.take, Take::Str | Take::Required))
                    {
                        let want = theirs.get(f.basiq).cloned().unwrap_or(Value::Null);
                        assert_eq!(ours[f.ours], want, "{} in {text}", f.basiq);
                    }
                }
            }
        }
        assert!(
            accepted > 1000,
            "the mutations leave enough valid pages ({accepted})"
        );
    }
}

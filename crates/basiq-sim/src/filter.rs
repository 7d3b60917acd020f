//! Basiq's `filter` query syntax: comma-joined (AND) conditions
//! `<entity>.<field>.<op>(<value>)` with single-quoted values, ops `eq gt gteq lt lteq` and
//! `bt('from','to')`. Basiq documents `ne` "only currently for Institutions endpoint"
//! (reference/TOPICS/collections-filters.md): on users' accounts, transactions and connections it
//! is refused.

use chrono::NaiveDate;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Gt,
    Gteq,
    Lt,
    Lteq,
    Bt,
}

/// What a field holds, as far as filtering is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Compared for equality only.
    Text,
    /// One of these values.
    OneOf(&'static [&'static str]),
    /// A `YYYY-MM-DD` date; every operator.
    Date,
}

#[derive(Clone, Debug)]
enum Value {
    Text(String),
    Date(NaiveDate),
}

#[derive(Clone, Debug)]
pub struct Condition {
    /// The canonical field name (the first name in the field table).
    pub field: &'static str,
    op: Op,
    values: Vec<Value>,
}

/// What a record offers to a condition.
pub enum Field<'a> {
    Text(&'a str),
    /// `None` when the record has no date (a pending transaction's postDate): never matches.
    Date(Option<NaiveDate>),
}

/// Fields an endpoint accepts: (accepted names, canonical name, kind).
pub type FieldTable = &'static [(&'static [&'static str], &'static str, Kind)];

pub fn parse(input: &str, fields: FieldTable) -> Result<Vec<Condition>, String> {
    let mut conditions = Vec::new();
    for clause in split_top_level(input)? {
        let clause = clause.trim();
        if clause.is_empty() {
            return Err("empty condition in filter".to_owned());
        }
        let open = clause
            .find('(')
            .ok_or_else(|| format!("`{clause}` is not <field>.<op>(<value>)"))?;
        if !clause.ends_with(')') {
            return Err(format!("`{clause}` must end with `)`"));
        }
        let (head, args) = (&clause[..open], &clause[open + 1..clause.len() - 1]);
        let (name, op) = head
            .rsplit_once('.')
            .ok_or_else(|| format!("`{head}` has no operator"))?;
        let op = match op {
            "eq" => Op::Eq,
            "ne" => {
                return Err("`ne` is supported on Basiq's institutions endpoint only".to_owned());
            }
            "gt" => Op::Gt,
            "gteq" => Op::Gteq,
            "lt" => Op::Lt,
            "lteq" => Op::Lteq,
            "bt" => Op::Bt,
            other => return Err(format!("unknown operator `{other}`")),
        };
        let (_, field, kind) = fields
            .iter()
            .find(|(names, _, _)| names.contains(&name))
            .ok_or_else(|| format!("`{name}` cannot be filtered on here"))?;
        let raw = quoted_values(args)?;
        let wanted = if op == Op::Bt { 2 } else { 1 };
        if raw.len() != wanted {
            return Err(format!("`{clause}` needs {wanted} quoted value(s)"));
        }
        if *kind != Kind::Date && op != Op::Eq {
            return Err(format!("`{name}` only supports eq"));
        }
        let mut values = Vec::with_capacity(raw.len());
        for v in raw {
            values.push(match kind {
                Kind::Date => Value::Date(
                    NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                        .map_err(|_| format!("`{v}` is not a YYYY-MM-DD date"))?,
                ),
                Kind::OneOf(allowed) if !allowed.contains(&v.as_str()) => {
                    return Err(format!("`{v}` is not one of {}", allowed.join(", ")));
                }
                _ => Value::Text(v),
            });
        }
        conditions.push(Condition { field, op, values });
    }
    Ok(conditions)
}

/// Splits on commas outside quotes and parentheses.
fn split_top_level(input: &str) -> Result<Vec<&str>, String> {
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    let mut parts = Vec::new();
    for (i, ch) in input.char_indices() {
        match ch {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced parentheses".to_owned());
                }
            }
            ',' if !quoted && depth == 0 => {
                parts.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted || depth != 0 {
        return Err("unbalanced quotes or parentheses".to_owned());
    }
    parts.push(&input[start..]);
    Ok(parts)
}

/// `'a'` or `'a','b'` → values.
fn quoted_values(args: &str) -> Result<Vec<String>, String> {
    let mut values = Vec::new();
    let mut rest = args.trim();
    loop {
        let body = rest
            .strip_prefix('\'')
            .ok_or_else(|| "values must be in single quotes".to_owned())?;
        let end = body
            .find('\'')
            .ok_or_else(|| "unterminated quoted value".to_owned())?;
        values.push(body[..end].to_owned());
        rest = body[end + 1..].trim_start();
        if rest.is_empty() {
            return Ok(values);
        }
        rest = rest
            .strip_prefix(',')
            .ok_or_else(|| "values must be separated by commas".to_owned())?
            .trim_start();
    }
}

impl Condition {
    pub fn matches(&self, field: Field<'_>) -> bool {
        match (field, self.values.as_slice()) {
            (Field::Text(actual), [Value::Text(v)]) => match self.op {
                Op::Eq => actual == v,
                _ => false,
            },
            (Field::Date(None), _) => false,
            (Field::Date(Some(d)), [Value::Date(v)]) => match self.op {
                Op::Eq => d == *v,
                Op::Gt => d > *v,
                Op::Gteq => d >= *v,
                Op::Lt => d < *v,
                Op::Lteq => d <= *v,
                Op::Bt => false,
            },
            (Field::Date(Some(d)), [Value::Date(from), Value::Date(to)]) => *from <= d && d <= *to,
            _ => false,
        }
    }
}

/// True when every condition matches; `get` maps a canonical field name to the record's value.
pub fn all_match<'a>(conditions: &[Condition], get: impl Fn(&str) -> Field<'a>) -> bool {
    conditions.iter().all(|c| c.matches(get(c.field)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: FieldTable = &[
        (&["account.id"], "account.id", Kind::Text),
        (
            &["transaction.postDate"],
            "transaction.postDate",
            Kind::Date,
        ),
        (
            &["transaction.status"],
            "transaction.status",
            Kind::OneOf(&["pending", "posted"]),
        ),
    ];

    #[test]
    fn a_between_filter_with_another_condition_parses() {
        let c = parse(
            "transaction.postDate.bt('2024-01-01','2024-02-01'),account.id.eq('a,b')",
            FIELDS,
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        assert!(c[1].matches(Field::Text("a,b")));
        let d = NaiveDate::from_ymd_opt(2024, 1, 15).unwrap();
        assert!(c[0].matches(Field::Date(Some(d))));
    }

    #[test]
    fn malformed_filters_are_refused() {
        for bad in [
            "",
            "account.id.eq(x)",
            "account.id.gt('x')",
            "account.id.like('x')",
            "nope.eq('x')",
            "transaction.postDate.gt('2024-13-01')",
            "transaction.postDate.bt('2024-01-01')",
            "transaction.status.eq('done')",
            "account.id.eq('x'",
            "account.id.eq('x'),",
        ] {
            assert!(parse(bad, FIELDS).is_err(), "{bad} was accepted");
        }
    }
}

//! `filter`, `order` and `select` of list methods, applied to records in read shape.
//!
//! Filter keys carry an operator prefix: `=`, `!`/`!=`, `>`, `>=`, `<`, `<=`, `%` (contains),
//! `=%`/`%=` (SQL LIKE), `@` (in), `!@` (not in); no prefix means equal. Values compare as numbers
//! when both sides are numbers, as instants when both are ISO 8601 dates, else as text without
//! regard to case (MySQL's default collation, which is what a portal runs on).

use super::methods::ApiFailure;
use super::state::Record;
use crate::php_query::as_list;
use crate::wire::{parse_decimal_text, value_text};
use chrono::DateTime;
use serde_json::{Map, Value};
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    NotEq,
    Gt,
    Ge,
    Lt,
    Le,
    Contains,
    NotContains,
    Like,
    In,
    NotIn,
}

/// One filter condition.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    field: String,
    op: Op,
    values: Vec<String>,
    /// `null` in the filter: matches unset fields.
    wants_empty: bool,
}

/// Parses `filter`. Absent, `""` and `[]` mean no filter; anything else but an object is the
/// error real portals give.
pub(crate) fn parse_filter(filter: Option<&Value>) -> Result<Vec<Condition>, ApiFailure> {
    let map = match filter {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) if s.is_empty() => return Ok(Vec::new()),
        Some(Value::Array(a)) if a.is_empty() => return Ok(Vec::new()),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(ApiFailure::method("Parameter 'filter' must be array.")),
    };
    const PREFIXES: [(&str, Op); 13] = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("=%", Op::Like),
        ("%=", Op::Like),
        ("!=", Op::NotEq),
        ("!@", Op::NotIn),
        ("!%", Op::NotContains),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("@", Op::In),
        ("%", Op::Contains),
        ("=", Op::Eq),
        ("!", Op::NotEq),
    ];
    let mut out = Vec::new();
    for (key, value) in map {
        let (op, field) = PREFIXES
            .iter()
            .find_map(|(p, op)| key.strip_prefix(p).map(|f| (*op, f)))
            .unwrap_or((Op::Eq, key.as_str()));
        let list = as_list(value);
        let values: Vec<String> = match &list {
            Some(items) => items.iter().filter_map(|v| value_text(v)).collect(),
            None => value_text(value).into_iter().collect(),
        };
        // An array for `=` / `!` means IN / NOT IN, as in Bitrix24.
        let op = match (op, list.is_some()) {
            (Op::Eq, true) => Op::In,
            (Op::NotEq, true) => Op::NotIn,
            (op, _) => op,
        };
        let wants_empty = value.is_null() || values.iter().all(|v| v.is_empty());
        out.push(Condition {
            field: field.to_string(),
            op,
            values,
            wants_empty,
        });
    }
    Ok(out)
}

/// Whether `rec` passes every condition. `multi` names the multi-field keys (`EMAIL`, `PHONE`):
/// those match when any of their values does.
pub(crate) fn matches(rec: &Record, conds: &[Condition], multi: &[&str]) -> bool {
    conds.iter().all(|c| matches_one(rec, c, multi))
}

fn matches_one(rec: &Record, c: &Condition, multi: &[&str]) -> bool {
    let is_phone = c.field == "PHONE";
    let have: Vec<String> = if multi.contains(&c.field.as_str()) {
        rec.get(&c.field)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.get("VALUE").and_then(value_text))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        rec.get(&c.field).and_then(value_text).into_iter().collect()
    };
    let have: Vec<String> = if is_phone {
        have.iter().map(|p| digits(p)).collect()
    } else {
        have
    };
    let want: Vec<String> = if is_phone {
        c.values.iter().map(|p| digits(p)).collect()
    } else {
        c.values.clone()
    };
    let unset = have.iter().all(|h| h.is_empty());
    match c.op {
        Op::Eq if c.wants_empty => unset,
        Op::NotEq if c.wants_empty => !unset,
        Op::Eq | Op::In => have
            .iter()
            .any(|h| want.iter().any(|w| compare(h, w) == Ordering::Equal)),
        Op::NotEq | Op::NotIn => !have
            .iter()
            .any(|h| want.iter().any(|w| compare(h, w) == Ordering::Equal)),
        Op::Gt | Op::Ge | Op::Lt | Op::Le => have.iter().any(|h| {
            want.first().is_some_and(|w| {
                let o = compare(h, w);
                match c.op {
                    Op::Gt => o == Ordering::Greater,
                    Op::Ge => o != Ordering::Less,
                    Op::Lt => o == Ordering::Less,
                    _ => o != Ordering::Greater,
                }
            })
        }),
        Op::Contains => have.iter().any(|h| {
            want.iter()
                .any(|w| h.to_lowercase().contains(&w.to_lowercase()))
        }),
        Op::NotContains => !have.iter().any(|h| {
            want.iter()
                .any(|w| h.to_lowercase().contains(&w.to_lowercase()))
        }),
        Op::Like => have.iter().any(|h| want.iter().any(|w| like(h, w))),
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Numbers as numbers, dates as instants, else case-insensitive text.
pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    if let (Some(x), Some(y)) = (parse_decimal_text(a), parse_decimal_text(b)) {
        return x.cmp(&y);
    }
    if let (Ok(x), Ok(y)) = (
        DateTime::parse_from_rfc3339(a),
        DateTime::parse_from_rfc3339(b),
    ) {
        return x.cmp(&y);
    }
    a.to_lowercase().cmp(&b.to_lowercase())
}

/// SQL LIKE with `%` wildcards, case-insensitive.
fn like(text: &str, pattern: &str) -> bool {
    let text = text.to_lowercase();
    let parts: Vec<String> = pattern
        .to_lowercase()
        .split('%')
        .map(String::from)
        .collect();
    if parts.len() == 1 {
        return text == parts[0];
    }
    let mut pos = 0;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        if i == 0 {
            if !text.starts_with(part.as_str()) {
                return false;
            }
            pos = part.len();
        } else if i == parts.len() - 1 {
            return text.len() >= pos + part.len() && text.ends_with(part.as_str());
        } else {
            match text[pos..].find(part.as_str()) {
                Some(at) => pos += at + part.len(),
                None => return false,
            }
        }
    }
    true
}

/// Sorts by `order` (`{"DATE_MODIFY":"DESC"}`); ties, and no order, go by `ID` ascending.
pub(crate) fn sort(rows: &mut [Record], order: Option<&Value>) -> Result<(), ApiFailure> {
    let keys: Vec<(String, bool)> = match order {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if s.is_empty() => Vec::new(),
        Some(Value::Array(a)) if a.is_empty() => Vec::new(),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                let desc = value_text(v).is_some_and(|d| d.eq_ignore_ascii_case("DESC"));
                (k.clone(), desc)
            })
            .collect(),
        Some(_) => return Err(ApiFailure::method("Parameter 'order' must be array.")),
    };
    let text = |r: &Record, k: &str| r.get(k).and_then(value_text);
    rows.sort_by(|a, b| {
        for (k, desc) in &keys {
            let o = match (text(a, k), text(b, k)) {
                (Some(x), Some(y)) => compare(&x, &y),
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            };
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        match (text(a, "ID"), text(b, "ID")) {
            (Some(x), Some(y)) => compare(&x, &y),
            _ => Ordering::Equal,
        }
    });
    Ok(())
}

/// Applies `select`. Absent or empty: `default_fields`. `*` adds the default fields, `UF_*` every
/// user field; other names are taken if the record has them. `ID` is always returned.
pub(crate) fn project(
    rec: &Record,
    select: Option<&Value>,
    default_fields: &dyn Fn(&str) -> bool,
) -> Record {
    let names: Vec<String> = select
        .and_then(as_list)
        .map(|l| l.iter().filter_map(|v| value_text(v)).collect())
        .unwrap_or_default();
    let everything_default = names.is_empty() || names.iter().any(|n| n == "*");
    let user_fields = names.iter().any(|n| n == "UF_*");
    let mut out = Map::new();
    for (k, v) in rec {
        let take = k == "ID"
            || (everything_default && default_fields(k))
            || (user_fields && k.starts_with("UF_"))
            || names.iter().any(|n| n == k);
        if take {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(v: Value) -> Record {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn prefixes_and_types() {
        let r = rec(
            json!({"ID":"12","TITLE":"Order #7","DATE_MODIFY":"2024-08-30T14:29:00+02:00","ORIGIN_ID":null}),
        );
        let f = |v: Value| parse_filter(Some(&v)).unwrap();
        assert!(matches(&r, &f(json!({">ID": "9"})), &[]));
        assert!(!matches(&r, &f(json!({"<=ID": 9})), &[]));
        assert!(matches(&r, &f(json!({"@ID": ["1", "12"]})), &[]));
        assert!(matches(&r, &f(json!({"!@ID": ["1"]})), &[]));
        assert!(matches(&r, &f(json!({"%TITLE": "order"})), &[]));
        assert!(matches(&r, &f(json!({"=%TITLE": "Order%"})), &[]));
        assert!(matches(
            &r,
            &f(json!({">DATE_MODIFY": "2024-08-30T15:00:00+03:00"})),
            &[]
        ));
        assert!(!matches(
            &r,
            &f(json!({">DATE_MODIFY": "2024-08-30T13:00:00+00:00"})),
            &[]
        ));
        assert!(matches(&r, &f(json!({"ORIGIN_ID": ""})), &[]));
        assert!(!matches(&r, &f(json!({"!ID": "12"})), &[]));
    }

    #[test]
    fn multi_fields_match_any_value() {
        let r = rec(
            json!({"ID":"1","EMAIL":[{"VALUE":"A@x.org"},{"VALUE":"b@x.org"}],"PHONE":[{"VALUE":"+7 (900) 111-22-33"}]}),
        );
        let f = |v: Value| parse_filter(Some(&v)).unwrap();
        assert!(matches(
            &r,
            &f(json!({"EMAIL": "a@x.org"})),
            &["EMAIL", "PHONE"]
        ));
        assert!(matches(
            &r,
            &f(json!({"PHONE": "+79001112233"})),
            &["EMAIL", "PHONE"]
        ));
        assert!(!matches(
            &r,
            &f(json!({"EMAIL": "c@x.org"})),
            &["EMAIL", "PHONE"]
        ));
    }

    #[test]
    fn bad_filter_is_refused() {
        let e = parse_filter(Some(&json!("x"))).unwrap_err();
        assert_eq!(e.description, "Parameter 'filter' must be array.");
    }

    #[test]
    fn order_and_select() {
        let mut rows = vec![
            rec(json!({"ID":"2","TITLE":"b","UF_CRM_1":"u"})),
            rec(json!({"ID":"10","TITLE":"a"})),
        ];
        sort(&mut rows, None).unwrap();
        assert_eq!(rows[0]["ID"], "2");
        sort(&mut rows, Some(&json!({"TITLE":"ASC"}))).unwrap();
        assert_eq!(rows[0]["ID"], "10");
        let std = |k: &str| !k.starts_with("UF_");
        let p = project(&rows[1], Some(&json!(["*", "UF_*"])), &std);
        assert_eq!(p.len(), 3);
        let p = project(&rows[1], Some(&json!(["TITLE"])), &std);
        assert_eq!(p.len(), 2);
    }
}

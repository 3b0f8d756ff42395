//! PHP-style query strings (`http_build_query` / `parse_str`), as Bitrix24 speaks them.
//!
//! Bitrix24 is PHP: form bodies, GET queries and the `cmd` strings inside a `batch` call all use
//! bracket keys (`fields[TITLE]=x`, `rows[0][PRICE]=5`, `filter[>ID]=5`). Both the client (to
//! build batch commands) and the emulator (to read form bodies) need the same rules, so they
//! live here once.

use serde_json::{Map, Value};
use url::form_urlencoded;

/// Encodes JSON params like PHP's `http_build_query`: nested objects and arrays become bracket
/// keys, `true`/`false` become `1`/`0`, `null` is left out (as PHP does), and keys and values are
/// form-urlencoded.
pub fn build_query(params: &Value) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    match params {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(k.clone(), v, &mut pairs);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(i.to_string(), v, &mut pairs);
            }
        }
        _ => {}
    }
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

fn flatten(prefix: String, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Null => {}
        Value::Bool(b) => out.push((prefix, if *b { "1" } else { "0" }.to_string())),
        Value::Number(n) => out.push((prefix, n.to_string())),
        Value::String(s) => out.push((prefix, s.clone())),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                flatten(format!("{prefix}[{k}]"), v, out);
            }
        }
    }
}

/// Parses a query string like PHP's `parse_str`: bracket keys build nested objects (PHP arrays;
/// `a[]` appends with the next integer key), every leaf is a string. Lists therefore come back
/// as objects with keys `"0"`, `"1"`…; [`as_list`] reads either form.
pub fn parse_query(query: &str) -> Value {
    let mut root = Map::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let path = split_key(&key);
        if path.is_empty() || path[0].is_empty() {
            continue;
        }
        insert(&mut root, &path, Value::String(value.into_owned()));
    }
    Value::Object(root)
}

/// `a[b][]` → `["a", "b", ""]`. A bracket without its closing `]` ends the parsing and the rest
/// of the key is ignored (PHP mangles such keys; nobody sends them on purpose).
fn split_key(key: &str) -> Vec<String> {
    let Some(open) = key.find('[') else {
        return vec![key.to_string()];
    };
    let mut parts = vec![key[..open].to_string()];
    let mut rest = &key[open..];
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(close) = stripped.find(']') else {
            break;
        };
        parts.push(stripped[..close].to_string());
        rest = &stripped[close + 1..];
    }
    parts
}

fn insert(map: &mut Map<String, Value>, path: &[String], leaf: Value) {
    let key = if path[0].is_empty() {
        next_index(map).to_string()
    } else {
        path[0].clone()
    };
    if path.len() == 1 {
        map.insert(key, leaf);
        return;
    }
    let child = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !child.is_object() {
        *child = Value::Object(Map::new());
    }
    if let Value::Object(child_map) = child {
        insert(child_map, &path[1..], leaf);
    }
}

fn next_index(map: &Map<String, Value>) -> u64 {
    map.keys()
        .filter_map(|k| k.parse::<u64>().ok())
        .max()
        .map_or(0, |m| m + 1)
}

/// Reads a PHP "array used as a list": a JSON array, or an object whose keys are all integers
/// (what [`parse_query`] makes of `rows[0]…`), ordered by key. `None` for anything else.
pub fn as_list(value: &Value) -> Option<Vec<&Value>> {
    match value {
        Value::Array(items) => Some(items.iter().collect()),
        Value::Object(map) => {
            let mut keyed: Vec<(u64, &Value)> = Vec::with_capacity(map.len());
            for (k, v) in map {
                keyed.push((k.parse::<u64>().ok()?, v));
            }
            keyed.sort_by_key(|(k, _)| *k);
            Some(keyed.into_iter().map(|(_, v)| v).collect())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builds_bracket_keys() {
        let q = build_query(&json!({
            "id": 5,
            "fields": {"TITLE": "A & B", "OPENED": true},
            "rows": [{"PRICE": "1.50"}],
            "skip": null
        }));
        assert_eq!(
            q,
            "fields%5BOPENED%5D=1&fields%5BTITLE%5D=A+%26+B&id=5&rows%5B0%5D%5BPRICE%5D=1.50"
        );
    }

    #[test]
    fn parse_round_trips_nested_params() {
        let v = json!({"filter": {">ID": "5", "ORIGIN_ID": "x y"}, "rows": [{"PRICE": "2"}]});
        let parsed = parse_query(&build_query(&v));
        assert_eq!(parsed["filter"][">ID"], "5");
        assert_eq!(parsed["filter"]["ORIGIN_ID"], "x y");
        let rows = as_list(&parsed["rows"]).unwrap();
        assert_eq!(rows[0]["PRICE"], "2");
    }

    #[test]
    fn empty_brackets_append() {
        let parsed = parse_query("select[]=ID&select[]=TITLE");
        let sel = as_list(&parsed["select"]).unwrap();
        assert_eq!(sel, vec![&json!("ID"), &json!("TITLE")]);
    }

    #[test]
    fn as_list_rejects_named_keys() {
        assert!(as_list(&json!({"a": 1})).is_none());
        assert_eq!(
            as_list(&json!({"1": "b", "0": "a"})).unwrap(),
            vec!["a", "b"]
        );
    }
}

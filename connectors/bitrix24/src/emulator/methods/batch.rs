//! `batch`: up to 50 commands in one request, later ones able to use earlier results through
//! `$result[key]` / `$result[key][FIELD]`. Always HTTP 200; failures are per command.

use super::{dispatch, ApiFailure, Ctx, MethodOk, Params};
use crate::client::MAX_BATCH;
use crate::emulator::timing::Clock;
use crate::php_query::parse_query;
use crate::wire::value_text;
use serde_json::{json, Map, Value};

/// The commands in the order the client sent them.
fn commands(params: &Params) -> Result<Vec<(String, String)>, ApiFailure> {
    let cmd = params.get("cmd");
    let mut entries: Vec<(String, String)> = match cmd {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), value_text(v).unwrap_or_default()))
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), value_text(v).unwrap_or_default()))
            .collect(),
        // UNCONFIRMED wording for a batch without commands.
        _ => return Err(ApiFailure::method("Parameter 'cmd' must be array.")),
    };
    let rank = |k: &str| {
        params
            .cmd_order
            .iter()
            .position(|o| o == k)
            .unwrap_or(usize::MAX)
    };
    entries.sort_by_key(|(k, _)| rank(k));
    Ok(entries)
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        other => value_text(other).is_some_and(|t| !matches!(t.trim(), "" | "0" | "false" | "N")),
    }
}

/// Resolves `$result[key][f1][f2]…` against earlier results.
fn lookup<'a>(results: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let mut cur = results.get(path.first()?)?;
    for seg in &path[1..] {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Parses a reference starting at `s` (which begins with `$result[`); returns the path and the
/// length consumed.
fn parse_ref(s: &str) -> Option<(Vec<String>, usize)> {
    let mut rest = s.strip_prefix("$result")?;
    let mut used = "$result".len();
    let mut path = Vec::new();
    while let Some(inner) = rest.strip_prefix('[') {
        let close = inner.find(']')?;
        path.push(inner[..close].to_string());
        used += close + 2;
        rest = &inner[close + 1..];
    }
    (!path.is_empty()).then_some((path, used))
}

/// Replaces references in every string leaf. A leaf that is exactly one reference takes the
/// referenced value (a list stays a list); references inside longer text are replaced by the
/// value's text. Unknown references are left as written.
fn substitute(v: &mut Value, results: &Map<String, Value>) {
    match v {
        Value::Object(m) => m.values_mut().for_each(|x| substitute(x, results)),
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, results)),
        Value::String(s) if s.contains("$result[") => {
            if let Some((path, used)) = parse_ref(s) {
                if used == s.len() {
                    if let Some(found) = lookup(results, &path) {
                        *v = match found {
                            Value::Object(_) | Value::Array(_) => found.clone(),
                            scalar => Value::String(value_text(scalar).unwrap_or_default()),
                        };
                    }
                    return;
                }
            }
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(at) = rest.find("$result[") {
                out.push_str(&rest[..at]);
                match parse_ref(&rest[at..]) {
                    Some((path, used)) => {
                        match lookup(results, &path).and_then(value_text) {
                            Some(t) => out.push_str(&t),
                            None => out.push_str(&rest[at..at + used]),
                        }
                        rest = &rest[at + used..];
                    }
                    None => {
                        out.push_str(&rest[at..]);
                        rest = "";
                    }
                }
            }
            out.push_str(rest);
            *s = out;
        }
        _ => {}
    }
}

/// PHP serialises an empty associative array as `[]`.
fn php_map(m: Map<String, Value>) -> Value {
    if m.is_empty() {
        Value::Array(Vec::new())
    } else {
        Value::Object(m)
    }
}

pub(super) fn run(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let cmds = commands(params)?;
    if cmds.len() > MAX_BATCH {
        return Err(ApiFailure::coded(
            400,
            "ERROR_BATCH_LENGTH_EXCEEDED",
            "Max batch length exceeded",
        ));
    }
    let halt = params.get("halt").is_some_and(truthy);
    let (mut results, mut errors, mut totals, mut nexts, mut times) =
        (Map::new(), Map::new(), Map::new(), Map::new(), Map::new());
    for (key, line) in cmds {
        let clock = Clock::start();
        let (method, query) = line.split_once('?').unwrap_or((line.as_str(), ""));
        let method = method.trim().trim_start_matches('/');
        let method = method.strip_suffix(".json").unwrap_or(method);
        ctx.counters.call(method);
        let mut value = parse_query(query);
        substitute(&mut value, &results);
        let nested = Params {
            value,
            cmd_order: Vec::new(),
        };
        let outcome = if method.eq_ignore_ascii_case("batch") {
            // UNCONFIRMED whether the portal reports this per command or for the whole request.
            Err(ApiFailure::coded(
                405,
                "ERROR_BATCH_METHOD_NOT_ALLOWED",
                "Method is not allowed for batch usage",
            ))
        } else {
            dispatch(ctx, method, &nested)
        };
        match outcome {
            Ok(ok) => {
                results.insert(key.clone(), ok.result);
                if let Some(t) = ok.total {
                    totals.insert(key.clone(), json!(t));
                }
                if let Some(n) = ok.next {
                    nexts.insert(key.clone(), json!(n));
                }
                times.insert(key, clock.time(None));
            }
            Err(f) => {
                errors.insert(key, f.body());
                if halt {
                    break;
                }
            }
        }
    }
    Ok(MethodOk::of(json!({
        "result": php_map(results),
        "result_error": php_map(errors),
        "result_total": php_map(totals),
        "result_next": php_map(nexts),
        "result_time": php_map(times),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve() {
        let results = json!({"deal": 42, "list": [{"ID": "7"}], "obj": {"ID": "9"}});
        let results = results.as_object().unwrap().clone();
        let mut v = json!({
            "id": "$result[deal]",
            "a": "$result[list][0][ID]",
            "b": "deal $result[obj][ID] of $result[deal]",
            "c": "$result[missing]",
        });
        substitute(&mut v, &results);
        assert_eq!(v["id"], "42");
        assert_eq!(v["a"], "7");
        assert_eq!(v["b"], "deal 9 of 42");
        assert_eq!(v["c"], "$result[missing]");
    }
}

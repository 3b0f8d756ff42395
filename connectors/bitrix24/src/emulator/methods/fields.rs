//! Reading written field values the way the portal coerces them.

use crate::emulator::state::money_text;
use crate::wire::{parse_decimal_text, value_text};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

/// Text of a scalar; `null` for `null`, arrays and objects.
pub(crate) fn text(v: &Value) -> Value {
    value_text(v).map_or(Value::Null, Value::String)
}

/// An integer id field: `"84"`; `0`, empty and garbage are unset (`null`).
pub(crate) fn int(v: &Value) -> Value {
    value_text(v)
        .and_then(|t| t.trim().parse::<u64>().ok())
        .filter(|n| *n > 0)
        .map_or(Value::Null, |n| Value::String(n.to_string()))
}

/// A decimal from a written value; garbage reads as zero, as PHP's `doubleval` would.
pub(crate) fn decimal(v: &Value) -> Decimal {
    value_text(v)
        .and_then(|t| parse_decimal_text(&t))
        .unwrap_or(Decimal::ZERO)
}

/// A money field: `"1000.00"`.
pub(crate) fn money(v: &Value) -> Value {
    Value::String(money_text(decimal(v)))
}

/// A `Y`/`N` field; anything but `Y` (or `1`/`true`) is `N`.
pub(crate) fn yes_no(v: &Value) -> Value {
    let yes = match v {
        Value::Bool(b) => *b,
        other => value_text(other)
            .is_some_and(|t| matches!(t.trim().to_ascii_uppercase().as_str(), "Y" | "1" | "TRUE")),
    };
    Value::String(if yes { "Y" } else { "N" }.into())
}

/// A date field: ISO 8601 or `YYYY-MM-DD` in, ISO 8601 with the portal's offset out; text that
/// is neither is kept as sent.
pub(crate) fn date(v: &Value) -> Value {
    let Some(t) = value_text(v) else {
        return Value::Null;
    };
    if let Ok(d) = DateTime::parse_from_rfc3339(t.trim()) {
        return Value::String(crate::emulator::state::iso(d.with_timezone(&Utc)));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d") {
        let midnight = d.and_hms_opt(0, 0, 0).expect("midnight");
        if let Some(local) = crate::emulator::state::portal_offset()
            .from_local_datetime(&midnight)
            .single()
        {
            return Value::String(crate::emulator::state::iso(local.with_timezone(&Utc)));
        }
    }
    if t.is_empty() {
        Value::Null
    } else {
        Value::String(t)
    }
}

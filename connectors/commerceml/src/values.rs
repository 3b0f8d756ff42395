//! Lenient parsing of CommerceML scalar values (numbers, dates, booleans, ids).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rust_decimal::Decimal;

/// Parses a 1C number: `1 719,50`, `1719.50`, NBSP thousands separators. `None` if empty or
/// not a number (the caller decides whether that matters).
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    // Most values (`1719.50`) have nothing to clean: parse them in place. The SDK parser
    // builds a cleaned copy first, an allocation per price and stock value of every offer.
    if !t.contains(|c: char| c.is_whitespace() || c == ',') {
        use std::str::FromStr as _;
        return Decimal::from_str(t)
            .or_else(|_| Decimal::from_scientific(t))
            .ok();
    }
    dealbridge_sdk::money::parse_decimal(t).ok()
}

/// Parses a 1C boolean (`true`/`false`, also `да`/`нет`, `1`/`0`).
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "true" | "да" | "1" | "истина" => Some(true),
        "false" | "нет" | "0" | "ложь" => Some(false),
        _ => None,
    }
}

/// Parses a 1C date or date-time leniently.
///
/// Accepts `2007-10-30`, `2014-06-01T0:36:33` (hour not zero-padded), `2021-02-18 09:49:02`,
/// fractional seconds and a trailing `Z`/offset (ignored: 1C writes local time). The 1C empty
/// values `T`, `0001-01-01` and `0001-01-01T00:00:00` give `None`, as does anything unparseable.
pub fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    let t = text.trim();
    if t.is_empty() || t == "T" {
        return None;
    }
    let (date_part, time_part) = match t.find(['T', ' ']) {
        Some(i) => (&t[..i], Some(t[i + 1..].trim())),
        None => (t, None),
    };
    let date = NaiveDate::parse_from_str(date_part, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(date_part, "%d.%m.%Y"))
        .ok()?;
    if date.year_ce().1 <= 1 {
        return None;
    }
    let time = match time_part.filter(|s| !s.is_empty()) {
        None => NaiveTime::MIN,
        Some(tp) => parse_time(tp)?,
    };
    Some(date.and_time(time))
}

/// Parses `H:MM[:SS[.fff]]`, ignoring a trailing zone designator.
pub fn parse_time(text: &str) -> Option<NaiveTime> {
    let core: &str = text.trim().split(['Z', '+']).next().unwrap_or_default();
    let mut parts = core.split(':');
    let h: u32 = parts.next()?.trim().parse().ok()?;
    let m: u32 = parts.next().unwrap_or("0").trim().parse().ok()?;
    let s_text = parts.next().unwrap_or("0").trim();
    let s: u32 = s_text.split('.').next()?.parse().ok()?;
    NaiveTime::from_hms_opt(h, m, s)
}

use chrono::Datelike as _;

/// True for ids 1C uses to mean "no reference".
pub fn is_empty_ref(id: &str) -> bool {
    let t = id.trim();
    t.is_empty() || t == "00000000-0000-0000-0000-000000000000"
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn decimals_accept_comma_and_spaces() {
        assert_eq!(parse_decimal("1 719,50"), Some(dec!(1719.50)));
        assert_eq!(parse_decimal("1\u{a0}000.5"), Some(dec!(1000.5)));
        assert_eq!(parse_decimal(" 0.250 "), Some(dec!(0.250)));
        assert_eq!(parse_decimal(""), None);
        assert_eq!(parse_decimal("abc"), None);
    }

    #[test]
    fn fast_decimal_path_agrees_with_the_sdk_parser() {
        for t in [
            "1719.50",
            "-3",
            "+5",
            ".5",
            "5.",
            "0.000",
            "1e3",
            "1E-2",
            "abc",
            "1_000",
            "NaN",
            "--1",
            "1.2.3",
            "79228162514264337593543950335",
            "79228162514264337593543950336",
            "0.00000000000000000000000000001",
            "1 719,50",
            "1,5",
            "١٢",
            "12abc",
            "0x10",
        ] {
            assert_eq!(
                parse_decimal(t),
                dealbridge_sdk::money::parse_decimal(t).ok(),
                "{t}"
            );
        }
    }

    #[test]
    fn dates_are_lenient() {
        let d = parse_datetime("2021-02-18T9:49:02").unwrap();
        assert_eq!(d.to_string(), "2021-02-18 09:49:02");
        assert_eq!(
            parse_datetime("2007-10-30").unwrap().to_string(),
            "2007-10-30 00:00:00"
        );
        assert!(parse_datetime("T").is_none());
        assert!(parse_datetime("0001-01-01T00:00:00").is_none());
        assert!(parse_datetime("nonsense").is_none());
        assert_eq!(
            parse_datetime("2014-06-01T0:36:33").unwrap().to_string(),
            "2014-06-01 00:36:33"
        );
    }

    #[test]
    fn booleans_and_refs() {
        assert_eq!(parse_bool("true"), Some(true));
        assert_eq!(parse_bool("Нет"), Some(false));
        assert!(is_empty_ref("00000000-0000-0000-0000-000000000000"));
        assert!(!is_empty_ref("abc"));
    }
}

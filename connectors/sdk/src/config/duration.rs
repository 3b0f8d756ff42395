//! Humane durations in config files: `"30s"`, `"5m"`, `"2h"`, `"14d"`, `"500ms"`, `"1h30m"`.
//!
//! A small parser of our own rather than a crate: the grammar is tiny, and owning it lets the
//! error message say exactly which units are accepted.

use std::time::Duration;

/// The units [`parse_duration`] accepts, for error messages.
pub const DURATION_UNITS: &str = "ms, s, m, h, d, w";

/// Parses a duration written as one or more `<integer><unit>` parts, e.g. `"90s"` or `"1h30m"`.
/// Units: `ms`, `s`, `m`, `h`, `d` (24 h), `w` (7 d). Whitespace between parts is allowed.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err(format!(
            "empty duration; write e.g. \"30s\" (units: {DURATION_UNITS})"
        ));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "`{text}` is not a duration: expected a number at `{rest}` (write e.g. \"30s\", \"5m\", \"1h30m\"; units: {DURATION_UNITS})"
            ));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{text}`: number too large"))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = rest[unit_len..].trim_start();
        let millis_per_unit: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "" => {
                return Err(format!(
                    "`{text}` has a number without a unit; write e.g. \"{number}s\" (units: {DURATION_UNITS})"
                ))
            }
            other => {
                return Err(format!(
                    "`{text}` has unknown unit `{other}` (units: {DURATION_UNITS})"
                ))
            }
        };
        let part = number
            .checked_mul(millis_per_unit)
            .ok_or_else(|| format!("`{text}` is too long a duration"))?;
        total = total
            .checked_add(Duration::from_millis(part))
            .ok_or_else(|| format!("`{text}` is too long a duration"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_and_compound_parts() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("14d"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_duration("1w"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration(" 1m 5s "), Ok(Duration::from_secs(65)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_bad_input_with_a_reason() {
        assert!(parse_duration("").unwrap_err().contains("empty"));
        assert!(parse_duration("30").unwrap_err().contains("without a unit"));
        assert!(parse_duration("30 sec")
            .unwrap_err()
            .contains("unknown unit `sec`"));
        assert!(parse_duration("s")
            .unwrap_err()
            .contains("expected a number"));
        assert!(parse_duration("-5s")
            .unwrap_err()
            .contains("expected a number"));
        assert!(parse_duration("99999999999999999999s")
            .unwrap_err()
            .contains("too large"));
        assert!(parse_duration("999999999999999w")
            .unwrap_err()
            .contains("too long"));
    }
}

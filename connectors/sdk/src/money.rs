//! Money as `Decimal` plus an ISO 4217 currency code. Never floats.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An ISO 4217 currency code such as `RUB`, `USD` or `EUR` (three ASCII upper-case letters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

/// A currency code that is not three ASCII letters.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not an ISO 4217 currency code (three letters such as RUB, USD, EUR)")]
pub struct InvalidCurrency(pub String);

impl Currency {
    /// Parses a code, accepting lower case (`rub` → `RUB`). 1C's `руб` is mapped to `RUB`, since
    /// real 1C files write the ruble that way.
    pub fn new(code: &str) -> Result<Self, InvalidCurrency> {
        let trimmed = code.trim();
        let lower = trimmed.to_lowercase();
        if lower == "руб" || lower == "руб." || lower == "643" {
            return Ok(Currency("RUB".into()));
        }
        if trimmed.len() == 3 && trimmed.chars().all(|c| c.is_ascii_alphabetic()) {
            Ok(Currency(trimmed.to_ascii_uppercase()))
        } else {
            Err(InvalidCurrency(code.to_string()))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Number of minor units (kopecks, cents) the currency uses; 2 unless ISO says otherwise.
    pub fn minor_units(&self) -> u32 {
        match self.0.as_str() {
            "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "UGX" | "XAF" | "XOF" => 0,
            "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "LYD" | "IQD" => 3,
            _ => 2,
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = InvalidCurrency;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Currency::new(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.0
    }
}

impl FromStr for Currency {
    type Err = InvalidCurrency;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::new(s)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An amount of money in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// The amount, exact.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// Its currency.
    pub currency: Currency,
}

impl Money {
    /// An amount in a currency.
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Money { amount, currency }
    }

    /// Rounds to the currency's minor units, half away from zero (how 1C, Bitrix24 and
    /// WooCommerce round a displayed total).
    pub fn rounded(&self) -> Money {
        Money {
            amount: round_money(self.amount, self.currency.minor_units()),
            currency: self.currency.clone(),
        }
    }
}

/// Rounds `amount` to `scale` decimal places, half away from zero, and normalises the scale so
/// that `10` and `10.00` compare and hash the same once formatted.
pub fn round_money(amount: Decimal, scale: u32) -> Decimal {
    let mut r = amount.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(scale);
    r
}

/// Parses a decimal as shops and ERPs write it: `"29.35"`, `"1 234,50"`, `" 7 "`. Spaces (also
/// no-break spaces) are thousands separators; a single comma is the decimal separator.
pub fn parse_decimal(text: &str) -> Result<Decimal, rust_decimal::Error> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    Decimal::from_str(&cleaned).or_else(|_| Decimal::from_scientific(&cleaned))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn currency_codes_normalise() {
        assert_eq!(Currency::new("usd").unwrap().as_str(), "USD");
        assert_eq!(Currency::new("руб").unwrap().as_str(), "RUB");
        assert!(Currency::new("dollars").is_err());
        assert!(Currency::new("").is_err());
    }

    #[test]
    fn rounding_is_half_away_from_zero_with_fixed_scale() {
        assert_eq!(round_money(dec!(2.345), 2).to_string(), "2.35");
        assert_eq!(round_money(dec!(-2.345), 2).to_string(), "-2.35");
        assert_eq!(round_money(dec!(2.344), 2).to_string(), "2.34");
        assert_eq!(round_money(dec!(10), 2).to_string(), "10.00");
        let yen = Money::new(dec!(100.5), Currency::new("JPY").unwrap()).rounded();
        assert_eq!(yen.amount.to_string(), "101");
    }

    #[test]
    fn parses_decimals_as_people_write_them() {
        assert_eq!(parse_decimal("29.35").unwrap(), dec!(29.35));
        assert_eq!(parse_decimal("1 234,50").unwrap(), dec!(1234.50));
        assert_eq!(parse_decimal("1\u{a0}000").unwrap(), dec!(1000));
        assert_eq!(parse_decimal("0.125").unwrap(), dec!(0.125));
        assert!(parse_decimal("abc").is_err());
    }
}

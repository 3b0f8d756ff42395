//! The `type` parameter of the 1C exchange protocol: which exchange a request belongs to.

use std::fmt;
use std::str::FromStr;

/// `type=catalog` (goods, offers, prices, stock from 1C) or `type=sale` (orders both ways).
/// [`ExchangeType::as_str`] is the one mapping to the protocol's strings; the site's upload
/// directories are named by it too, so the strings must not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExchangeType {
    /// `catalog`: 1C uploads the catalog (import and offers files).
    Catalog,
    /// `sale`: 1C fetches orders (`mode=query`) and uploads their statuses and payments.
    Sale,
}

impl ExchangeType {
    /// Both types.
    pub const ALL: [ExchangeType; 2] = [ExchangeType::Catalog, ExchangeType::Sale];

    /// The protocol's name: `catalog` or `sale`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExchangeType::Catalog => "catalog",
            ExchangeType::Sale => "sale",
        }
    }
}

impl fmt::Display for ExchangeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExchangeType {
    type Err = String;
    /// Fails with the message the exchange answers 1C with.
    fn from_str(s: &str) -> Result<Self, String> {
        ExchangeType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                format!("unknown exchange type \"{s}\"; expected type=catalog or type=sale")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_keep_the_protocol_names() {
        let want = [
            (ExchangeType::Catalog, "catalog"),
            (ExchangeType::Sale, "sale"),
        ];
        assert_eq!(want.len(), ExchangeType::ALL.len());
        for (t, text) in want {
            assert_eq!(t.as_str(), text);
            assert_eq!(t.to_string(), text);
            assert_eq!(text.parse::<ExchangeType>(), Ok(t));
        }
        assert_eq!(
            "orders".parse::<ExchangeType>().unwrap_err(),
            "unknown exchange type \"orders\"; expected type=catalog or type=sale"
        );
    }
}

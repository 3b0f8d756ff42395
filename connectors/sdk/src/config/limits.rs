//! `rate_limit_per_second`, `rate_limit_burst`, `timeout`, `connect_timeout`: the keys every
//! `[systems.<name>]` table has, read the same way for every connector.

use std::time::Duration;

use super::doc::{Ctx, TableReader};
use crate::http::{ClientLimits, Timeouts};

/// The keys [`read_limits`] reads; a connector adds them to its own known keys.
pub const LIMIT_KEYS: &[&str] = &[
    "rate_limit_per_second",
    "rate_limit_burst",
    "timeout",
    "connect_timeout",
];

pub use crate::http::RateLimit;

/// Settings every system has: request budget and timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemLimits {
    /// `rate_limit_per_second` / `rate_limit_burst`; `None` means unlimited.
    pub rate_limit: Option<RateLimit>,
    /// `timeout`: whole-request timeout, body included (default 60s).
    pub timeout: Duration,
    /// `connect_timeout`: TCP connect timeout (default 10s).
    pub connect_timeout: Duration,
}

impl SystemLimits {
    /// The request budget in the form every connector's client takes.
    pub fn client_limits(&self) -> ClientLimits {
        ClientLimits {
            rate_limit: self.rate_limit,
        }
    }

    /// The timeouts in the form the sdk's HTTP client takes.
    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            connect: self.connect_timeout,
            request: self.timeout,
        }
    }
}

/// Reads the limit keys of `[systems.<name>]`; `default` is the connector's own budget, used
/// when the table sets none (and for the half of the pair it leaves out).
pub fn read_limits(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    kind: &str,
    default: Option<RateLimit>,
) -> Option<SystemLimits> {
    let before = ctx.out.len();
    let per_second = t.integer(ctx, "rate_limit_per_second", 1, 10_000);
    let burst = t.integer(ctx, "rate_limit_burst", 1, 10_000);
    let rate_limit = match (per_second, burst) {
        (Some(p), Some(b)) => Some(RateLimit {
            per_second: *p.get_ref() as u32,
            burst: *b.get_ref() as u32,
        }),
        (Some(p), None) => Some(RateLimit {
            per_second: *p.get_ref() as u32,
            burst: default.map_or(*p.get_ref() as u32, |d| d.burst),
        }),
        (None, Some(b)) => match default {
            Some(d) => Some(RateLimit {
                per_second: d.per_second,
                burst: *b.get_ref() as u32,
            }),
            None => {
                ctx.error(
                    b.span(),
                    format!(
                        "`rate_limit_burst` in {} needs `rate_limit_per_second` too ({kind} has no default limit)",
                        t.name
                    ),
                );
                None
            }
        },
        (None, None) => default,
    };
    let timeout = t
        .duration(ctx, "timeout", Duration::from_millis(1))
        .unwrap_or(Duration::from_secs(60));
    let connect_timeout = t
        .duration(ctx, "connect_timeout", Duration::from_millis(1))
        .unwrap_or(Duration::from_secs(10));
    (ctx.out.len() == before).then_some(SystemLimits {
        rate_limit,
        timeout,
        connect_timeout,
    })
}

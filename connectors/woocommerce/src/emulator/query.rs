//! `GET /orders` query parameters, validated as WordPress validates collection parameters, and
//! the filtering, sorting and paging they ask for.

use super::orders::{wp_list, ORDER_STATUSES};
use super::state::{Store, Stored};
use super::wp_error::WpError;
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};

/// `orderby` values the emulator accepts. `modified` is accepted by the emulator although the
/// v3 docs list only the first five.
const ORDERBY: [&str; 6] = ["date", "id", "include", "title", "slug", "modified"];

/// A validated `GET /orders` query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderQuery {
    pub page: u64,
    pub per_page: u64,
    pub offset: Option<u64>,
    pub statuses: Vec<String>,
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
    pub modified_after: Option<DateTime<Utc>>,
    pub modified_before: Option<DateTime<Utc>>,
    pub orderby: String,
    pub desc: bool,
}

impl OrderQuery {
    /// Validates raw query pairs; every bad parameter is reported at once, as WordPress does.
    pub fn parse(pairs: &[(String, String)], site: FixedOffset) -> Result<Self, WpError> {
        let get = |k: &str| {
            pairs
                .iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        let mut bad: Vec<(String, String)> = Vec::new();
        let mut int = |name: &str, default: u64, min: u64, max: Option<u64>| -> u64 {
            let Some(raw) = get(name) else { return default };
            match raw.trim().parse::<u64>() {
                Ok(v) if v >= min && max.is_none_or(|m| v <= m) => v,
                Ok(_) | Err(_) if raw.trim().parse::<i64>().is_ok() => {
                    let why = match max {
                        Some(m) => {
                            format!("{name} must be between {min} (inclusive) and {m} (inclusive)")
                        }
                        None => format!("{name} must be greater than or equal to {min}"),
                    };
                    bad.push((name.to_string(), why));
                    default
                }
                _ => {
                    bad.push((name.to_string(), format!("{name} is not of type integer.")));
                    default
                }
            }
        };
        let page = int("page", 1, 1, None);
        let per_page = int("per_page", 10, 1, Some(100));
        let offset = get("offset").map(|_| int("offset", 0, 0, None));

        let gmt = get("dates_are_gmt").is_some_and(|v| !matches!(v, "" | "0" | "false"));
        let mut date = |name: &str| -> Option<DateTime<Utc>> {
            let raw = get(name)?;
            let parsed = parse_wp_date(raw, if gmt { FixedOffset::east_opt(0)? } else { site });
            if parsed.is_none() {
                bad.push((name.to_string(), "Invalid date.".to_string()));
            }
            parsed
        };
        let after = date("after");
        let before = date("before");
        let modified_after = date("modified_after");
        let modified_before = date("modified_before");

        // `status` is an array parameter: `status=a,b`, `status[]=a&status[]=b`.
        let mut statuses: Vec<String> = pairs
            .iter()
            .filter(|(n, _)| n == "status" || n == "status[]")
            .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_string()))
            .filter(|s| !s.is_empty())
            .collect();
        let mut allowed: Vec<&str> = vec!["any"];
        allowed.extend(ORDER_STATUSES);
        for (i, s) in statuses.iter().enumerate() {
            if !allowed.contains(&s.as_str()) {
                bad.push((
                    "status".to_string(),
                    format!("status[{i}] is not one of {}.", wp_list(&allowed)),
                ));
                break;
            }
        }
        if statuses.is_empty() {
            statuses.push("any".to_string());
        }

        let orderby = get("orderby").unwrap_or("date").to_string();
        if !ORDERBY.contains(&orderby.as_str()) {
            bad.push((
                "orderby".to_string(),
                format!("orderby is not one of {}.", wp_list(&ORDERBY)),
            ));
        }
        let order = get("order").unwrap_or("desc");
        if !matches!(order, "asc" | "desc") {
            bad.push((
                "order".to_string(),
                "order is not one of asc and desc.".to_string(),
            ));
        }
        if !bad.is_empty() {
            return Err(WpError::invalid_params(bad));
        }
        Ok(OrderQuery {
            page,
            per_page,
            offset,
            statuses,
            after,
            before,
            modified_after,
            modified_before,
            orderby,
            desc: order == "desc",
        })
    }

    /// Runs the query: the page's orders, the matching total and the page count.
    pub fn run<'a>(&self, store: &'a Store) -> (Vec<&'a Stored>, u64, u64) {
        let any = self.statuses.iter().any(|s| s == "any");
        let mut hits: Vec<&Stored> = store
            .orders
            .values()
            .filter(|s| {
                let o = &s.order;
                // `any` means every status except trash, as WordPress' `post_status=any`.
                let status_ok = if any {
                    o.status != "trash" || self.statuses.iter().any(|x| x == "trash")
                } else {
                    self.statuses.contains(&o.status)
                };
                // WordPress' date_query `after`/`before` are exclusive.
                let created = o.date_created_gmt.and_utc();
                let modified = o.date_modified_gmt.and_utc();
                status_ok
                    && self.after.is_none_or(|t| created > t)
                    && self.before.is_none_or(|t| created < t)
                    && self.modified_after.is_none_or(|t| modified > t)
                    && self.modified_before.is_none_or(|t| modified < t)
            })
            .collect();
        hits.sort_by(|a, b| {
            let (x, y) = (&a.order, &b.order);
            let ord = match self.orderby.as_str() {
                "id" | "include" => x.id.cmp(&y.id),
                "modified" => (x.date_modified_gmt, a.modified_seq)
                    .cmp(&(y.date_modified_gmt, b.modified_seq)),
                // title and slug of an order are derived from its creation date.
                _ => (x.date_created_gmt, x.id).cmp(&(y.date_created_gmt, y.id)),
            };
            if self.desc {
                ord.reverse()
            } else {
                ord
            }
        });
        let total = hits.len() as u64;
        let pages = total.div_ceil(self.per_page);
        let skip = self
            .offset
            .unwrap_or((self.page - 1).saturating_mul(self.per_page));
        let page: Vec<&Stored> = hits
            .into_iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(self.per_page as usize)
            .collect();
        (page, total, pages)
    }
}

/// Parses an ISO 8601 date as WordPress' `rest_parse_date` accepts it
/// (`YYYY-MM-DDTHH:MM:SS[.frac][Z|±HH:MM]`); a date without an offset is in `local`.
pub(crate) fn parse_wp_date(raw: &str, local: FixedOffset) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dt%H:%M:%S%.f",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())?;
    local
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Result<OrderQuery, WpError> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(s.as_bytes())
            .into_owned()
            .collect();
        OrderQuery::parse(&pairs, FixedOffset::east_opt(3 * 3600).unwrap())
    }

    #[test]
    fn defaults_are_wordpress_defaults() {
        let x = q("").unwrap();
        assert_eq!(
            (x.page, x.per_page, x.orderby.as_str(), x.desc),
            (1, 10, "date", true)
        );
        assert_eq!(x.statuses, vec!["any"]);
    }

    #[test]
    fn bad_params_are_reported_together() {
        let e = q("per_page=500&orderby=price&modified_after=yesterday").unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.code, "rest_invalid_param");
        assert_eq!(
            e.message,
            "Invalid parameter(s): per_page, modified_after, orderby"
        );
        let params = &e.extra["params"];
        assert_eq!(
            params["per_page"],
            "per_page must be between 1 (inclusive) and 100 (inclusive)"
        );
        assert_eq!(params["modified_after"], "Invalid date.");
    }

    #[test]
    fn dates_are_local_unless_gmt_or_offset() {
        let local = q("modified_after=2024-05-01T12:00:00").unwrap();
        assert_eq!(
            local.modified_after.unwrap().to_rfc3339(),
            "2024-05-01T09:00:00+00:00"
        );
        let gmt = q("modified_after=2024-05-01T12:00:00&dates_are_gmt=true").unwrap();
        assert_eq!(
            gmt.modified_after.unwrap().to_rfc3339(),
            "2024-05-01T12:00:00+00:00"
        );
        let off = q("modified_after=2024-05-01T12:00:00%2B01:00").unwrap();
        assert_eq!(
            off.modified_after.unwrap().to_rfc3339(),
            "2024-05-01T11:00:00+00:00"
        );
    }

    #[test]
    fn statuses_accept_lists() {
        let x = q("status=processing,completed").unwrap();
        assert_eq!(x.statuses, vec!["processing", "completed"]);
        let e = q("status=shipped").unwrap_err();
        assert!(e.extra["params"]["status"]
            .as_str()
            .unwrap()
            .starts_with("status[0] is not one of any, pending"));
    }
}

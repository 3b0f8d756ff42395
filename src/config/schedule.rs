//! `[schedule.<name>]`: jobs run on a cron schedule by `dealbridge run`, e.g. the nightly full
//! catalog sync.
//!
//! ```toml
//! [schedule.nightly]
//! cron = "0 3 * * *"            # 5 fields (min hour day month weekday) or 6 (with seconds first)
//! time_zone = "Europe/Moscow"   # IANA name; default "UTC"
//! flows = ["orders"]            # default: every flow
//! full = true                   # re-read everything, not just changes since the cursor (default)
//! catch_up = true               # a run missed while no engine was up runs once at start
//! reconcile = true              # then compare store and CRM (`dealbridge reconcile`); default false
//! reconcile_since = "30d"       # its window (default 30d)
//! reconcile_fix = false         # and queue its fixes (default false: report only)
//! ```

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use toml::de::DeValue;

use super::doc::{nearest, type_name, Ctx, TableReader};

/// One scheduled job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleConfig {
    /// The job's name (the key in `[schedule.<name>]`); names its lock and last-run record.
    pub name: String,
    /// `cron` as written.
    pub cron: String,
    /// The same expression in the 6/7-field form the `cron` crate reads (seconds first).
    cron_full: String,
    /// `time_zone`: where the cron fields are read (default UTC).
    pub time_zone: Tz,
    /// `flows`: the flows it runs; empty means every flow.
    pub flows: Vec<String>,
    /// `full`: ignore the cursors and re-read everything (default true).
    pub full: bool,
    /// `catch_up`: run once at start when a run was missed while no engine was running.
    pub catch_up: bool,
    /// `reconcile = true`: after the polls, compare the store and the CRM.
    pub reconcile: Option<ScheduledReconcile>,
}

/// A schedule's reconciliation (`reconcile = true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledReconcile {
    /// `reconcile_since`: the window compared (default 30 days).
    pub since: std::time::Duration,
    /// `reconcile_fix`: queue the fixes too (default false: report only).
    pub fix: bool,
}

/// The default window of a scheduled reconciliation.
pub const DEFAULT_RECONCILE_SINCE: std::time::Duration =
    std::time::Duration::from_secs(30 * 86_400);

impl ScheduleConfig {
    /// The parsed schedule (validated when the config was read).
    pub fn schedule(&self) -> cron::Schedule {
        cron::Schedule::from_str(&self.cron_full).expect("validated by the config check")
    }

    /// The first fire time strictly after `after`, in UTC.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule()
            .after(&after.with_timezone(&self.time_zone))
            .next()
            .map(|t| t.with_timezone(&Utc))
    }

    /// The latest fire time at or before `now` that comes after `last` (the last run), if any:
    /// the run that was missed. Walks forward from `last`, bounded, so a years-old `last` with
    /// an every-second cron cannot spin.
    pub fn missed_since(&self, last: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut missed = None;
        for t in self
            .schedule()
            .after(&last.with_timezone(&self.time_zone))
            .take(100_000)
        {
            let t = t.with_timezone(&Utc);
            if t > now {
                break;
            }
            missed = Some(t);
        }
        missed
    }

    /// Whether the job runs `flow`.
    pub fn covers(&self, flow: &str) -> bool {
        self.flows.is_empty() || self.flows.iter().any(|f| f == flow)
    }
}

/// The keys of a `[schedule.<name>]` table.
pub(crate) const SCHEDULE_KEYS: &[&str] = &[
    "cron",
    "time_zone",
    "flows",
    "full",
    "catch_up",
    "reconcile",
    "reconcile_since",
    "reconcile_fix",
];

/// Turns a 5-field cron (minute first) into the 6-field form with seconds; 6 and 7 fields are
/// taken as they are.
fn full_form(expr: &str) -> Result<String, String> {
    let fields = expr.split_whitespace().count();
    match fields {
        5 => Ok(format!("0 {}", expr.trim())),
        6 | 7 => Ok(expr.trim().to_string()),
        n => Err(format!(
            "has {n} fields; write 5 (minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\") or 6 with seconds first"
        )),
    }
}

/// Reads `[schedule]`; `flow_names` are the flows the config defines (for the `flows` check).
pub(crate) fn read_schedules(
    ctx: &mut Ctx<'_>,
    t: Option<&TableReader<'_, '_>>,
    flow_names: &[&str],
) -> Vec<ScheduleConfig> {
    let Some(t) = t else { return Vec::new() };
    let mut out = Vec::new();
    let entries: Vec<_> = t.entries().collect();
    for (name, value) in entries {
        let name: &str = name.get_ref();
        let label = format!("[schedule.{name}]");
        let DeValue::Table(table) = value.get_ref() else {
            ctx.error(
                value.span(),
                format!(
                    "`schedule.{name}` must be a table ({label}), found {}",
                    type_name(value.get_ref())
                ),
            );
            continue;
        };
        let st = TableReader::new(table, value.span(), label.clone(), SCHEDULE_KEYS);
        st.deny_unknown(ctx);
        let before = ctx.out.len();
        let cron_full = st.required_string(ctx, "cron").and_then(|c| {
            let expr = c.get_ref().clone();
            match full_form(&expr).and_then(|f| {
                cron::Schedule::from_str(&f)
                    .map(|_| f)
                    .map_err(|e| format!("is not a valid cron expression: {e}"))
            }) {
                Ok(f) => Some((expr, f)),
                Err(e) => {
                    ctx.error(c.span(), format!("`cron = \"{expr}\"` in {label} {e}"));
                    None
                }
            }
        });
        let time_zone = match st.string(ctx, "time_zone") {
            None => Tz::UTC,
            Some(z) => match z.get_ref().parse::<Tz>() {
                Ok(tz) => tz,
                Err(_) => {
                    ctx.error(
                        z.span(),
                        format!(
                            "`time_zone = \"{}\"` in {label} is not an IANA time zone name; write e.g. \"Europe/Moscow\" or \"UTC\"",
                            z.get_ref()
                        ),
                    );
                    Tz::UTC
                }
            },
        };
        let flows = read_flow_list(ctx, &st, &label, flow_names);
        let full = read_bool(ctx, &st, "full", &label).unwrap_or(true);
        let catch_up = read_bool(ctx, &st, "catch_up", &label).unwrap_or(false);
        let reconcile = read_bool(ctx, &st, "reconcile", &label)
            .unwrap_or(false)
            .then(|| ScheduledReconcile {
                since: st
                    .duration(ctx, "reconcile_since", std::time::Duration::from_secs(60))
                    .unwrap_or(DEFAULT_RECONCILE_SINCE),
                fix: read_bool(ctx, &st, "reconcile_fix", &label).unwrap_or(false),
            });
        if ctx.out.len() != before {
            continue;
        }
        if let Some((cron, cron_full)) = cron_full {
            out.push(ScheduleConfig {
                name: name.to_string(),
                cron,
                cron_full,
                time_zone,
                flows,
                full,
                catch_up,
                reconcile,
            });
        }
    }
    out
}

fn read_bool(ctx: &mut Ctx<'_>, t: &TableReader<'_, '_>, key: &str, label: &str) -> Option<bool> {
    let (_, v) = t.entry(key)?;
    match v.get_ref() {
        DeValue::Boolean(b) => Some(*b),
        other => {
            ctx.error(
                v.span(),
                format!(
                    "`{key}` in {label} must be true or false, found {}",
                    type_name(other)
                ),
            );
            None
        }
    }
}

fn read_flow_list(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    label: &str,
    flow_names: &[&str],
) -> Vec<String> {
    let Some((_, v)) = t.entry("flows") else {
        return Vec::new();
    };
    let DeValue::Array(items) = v.get_ref() else {
        ctx.error(
            v.span(),
            format!(
                "`flows` in {label} must be an array of flow names, found {}",
                type_name(v.get_ref())
            ),
        );
        return Vec::new();
    };
    let mut seen = BTreeMap::new();
    for item in items.iter() {
        let Some(name) = item.get_ref().as_str() else {
            ctx.error(
                item.span(),
                format!("each of `flows` in {label} must be a flow name"),
            );
            continue;
        };
        if !flow_names.contains(&name) {
            let hint = match nearest(name, flow_names) {
                Some(n) => format!("did you mean `{n}`?"),
                None if flow_names.is_empty() => "no [[flows]] are defined".to_string(),
                None => format!("defined flows: {}", flow_names.join(", ")),
            };
            ctx.error(
                item.span(),
                format!("{label} names flow `{name}`, which does not exist; {hint}"),
            );
            continue;
        }
        seen.insert(name.to_string(), ());
    }
    seen.into_keys().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn job(cron: &str, tz: Tz) -> ScheduleConfig {
        ScheduleConfig {
            name: "nightly".into(),
            cron: cron.into(),
            cron_full: full_form(cron).unwrap(),
            time_zone: tz,
            flows: vec![],
            full: true,
            catch_up: true,
            reconcile: None,
        }
    }

    #[test]
    fn five_fields_get_seconds_and_six_stay() {
        assert_eq!(full_form("0 3 * * *").unwrap(), "0 0 3 * * *");
        assert_eq!(full_form("*/5 * * * * *").unwrap(), "*/5 * * * * *");
        assert!(full_form("3 * *").unwrap_err().contains("3 fields"));
    }

    #[test]
    fn the_nightly_job_fires_at_three_in_its_time_zone() {
        let j = job("0 3 * * *", chrono_tz::Europe::Moscow);
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        // 03:00 in Moscow (UTC+3) is 00:00 UTC.
        assert_eq!(
            j.next_after(now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn a_missed_run_is_the_latest_fire_time_since_the_last_run() {
        let j = job("0 3 * * *", Tz::UTC);
        let last = Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        // Five nights missed: one catch-up run, for the latest of them.
        assert_eq!(
            j.missed_since(last, now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap()
        );
        let fresh = Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap();
        assert_eq!(j.missed_since(fresh, now), None);
    }
}

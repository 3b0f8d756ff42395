//! `dealbridge reconcile`: proof that the store and the CRM agree, and the fixes where they do
//! not (issue 12).
//!
//! Webhooks get lost and people edit deals behind the integration's back, so the snapshots the
//! engine keeps say what it *wrote*, not what the CRM *holds*. Reconcile reads both systems over
//! a window, compares them through the same mapping the worker writes with, and reports each
//! difference once with the fix it proposes. `--fix` hands the fixes to the normal queue and
//! decide step (nothing is written here), so ownership rules and `manual` conflicts apply to a
//! fix exactly as to any other change.
//!
//! - [`difference`]: what a difference is (kind, both values, the fix) and the report.
//! - [`compare`]: one order against its deal(s), pure.
//! - [`orders`]: reads an order flow's two sides in pages and feeds [`compare`].
//! - [`fix`]: queues the proposed fixes.

pub mod compare;
pub mod difference;
pub mod fix;
pub mod orders;

pub use difference::{Checked, Difference, DifferenceKind, FixAction, Report};

use super::engine::Engine;
use super::SyncError;
use chrono::{DateTime, Utc};

impl Engine {
    /// Compares the selected order flows (all when `only` is `None`) over what changed since
    /// `since`; with `fix`, queues the fixes (run `sync` or `run` to apply them).
    pub async fn reconcile(
        &self,
        only: Option<&str>,
        since: DateTime<Utc>,
        fix: bool,
    ) -> Result<Report, SyncError> {
        let mut report = Report::default();
        for flow in self
            .flows
            .iter()
            .filter(|f| only.is_none_or(|n| n == f.name))
        {
            let found = self.reconcile_flow(flow, since).await?;
            if fix {
                report.fixes_queued += self.queue_fixes(flow, &found).await?;
            }
            report.add(found.report, found.differences);
        }
        Ok(report)
    }
}

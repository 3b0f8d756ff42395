//! Alerts (`[alerts]`): tell a person when something needs them, once when it starts and once
//! when it clears, through the queue so a receiver that is down loses nothing.
//!
//! - [`rules`]: the rules, pure: observations → conditions; open incidents + conditions →
//!   what to send.
//! - [`observe`]: reads the observations (dead jobs, the poll loops' health, the 1C exchange
//!   journal, open conflicts).
//! - [`evaluator`]: the supervised `alerts` loop of `run`: observe, decide, open or resolve
//!   incidents (`dealbridge-store`'s `alert_incidents`) with their notification job.
//! - [`notify`]: the notification, its body per `format` (json, slack, telegram), the POST.
//! - [`deliver`]: the queue worker's side: runs an `alert` job.
//! - [`exchange`]: journals each 1C exchange step's outcome, which the 1C rule reads.

pub mod deliver;
pub mod evaluator;
pub mod exchange;
pub mod notify;
pub mod observe;
pub mod rules;

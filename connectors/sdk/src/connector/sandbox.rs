//! `dealbridge sandbox`: a connector's emulator started for the demo, seen through what the
//! sandbox shows (orders seeded and arriving, deals as a manager sees them, a manager's win).

/// A deal as the sandbox prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SandboxDeal {
    /// The CRM's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its stage id.
    pub stage: String,
    /// Its amount as the CRM shows it.
    pub amount: String,
    /// Its currency.
    pub currency: String,
    /// Its contact's id, if any.
    pub contact: Option<String>,
    /// The store order it came from (the origin the engine wrote), if any.
    pub origin_id: Option<String>,
    /// Whether it is still open (neither won nor lost).
    pub open: bool,
    /// Its product rows.
    pub rows: usize,
    /// Rows that name a product of the CRM's catalog.
    pub linked_rows: usize,
}

/// A seeded order that fails on purpose, so a newcomer sees the console's Errors page at work:
/// why it fails and how to fix it, as the sandbox prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededFailure {
    /// The order's id in the store.
    pub order_id: String,
    /// Why the engine cannot carry it, in the operator's terms.
    pub why: String,
    /// What to change (a mapping line), after which "Retry" makes its deal.
    pub fix: String,
}

/// A store emulator running for the sandbox.
#[async_trait::async_trait]
pub trait SandboxStore: Send + Sync {
    /// The `[systems.<name>]` body (`kind = …` and its keys) that reaches this emulator.
    fn config_table(&self) -> String;
    /// One line naming the emulator and where it listens.
    fn describe(&self) -> String;
    /// Creates `n` orders (deterministic for `seed`); their ids.
    fn seed_orders(&self, n: usize, seed: u64) -> Vec<String>;
    /// The status of order `id` as the store shows it.
    fn order_status(&self, id: &str) -> Option<String>;
    /// The seeded order that fails on purpose, if this store seeds one.
    fn seeded_failure(&self) -> Option<SeededFailure> {
        None
    }
    /// Stops the emulator (once; later calls do nothing).
    async fn shutdown(&self);
}

/// A CRM emulator running for the sandbox.
#[async_trait::async_trait]
pub trait SandboxCrm: Send + Sync {
    /// The `[systems.<name>]` body (`kind = …` and its keys) that reaches this emulator.
    fn config_table(&self) -> String;
    /// One line naming the emulator and where it listens.
    fn describe(&self) -> String;
    /// Every deal, oldest first.
    fn deals(&self) -> Vec<SandboxDeal>;
    /// A manager moves deal `id` to the won stage in the CRM's own interface; false if there
    /// is no such deal.
    fn win_deal(&self, id: &str) -> bool;
    /// Stops the emulator (once; later calls do nothing).
    async fn shutdown(&self);
}

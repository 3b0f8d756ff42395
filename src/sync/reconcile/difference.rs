//! The vocabulary of a reconciliation: the kinds of difference, the fix each proposes, and the
//! report `reconcile --json` prints.

use serde::Serialize;
use serde_json::Value;

/// What differs between the store and the CRM for one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    /// The store has the order; the CRM has no deal for it (never arrived, or deleted).
    MissingInCrm,
    /// A deal carries our origin, but its order does not exist in the store.
    OrphanInCrm,
    /// More than one deal carries the origin of one order.
    DuplicateInCrm,
    /// The deal's amount is not the order's total.
    Amount,
    /// The deal's currency is not the order's.
    Currency,
    /// The deal's stage is not the stage the mapping gives the order's status.
    Stage,
    /// The deal's product rows (name, price, quantity) are not the order's lines.
    Rows,
    /// The deal's paid amount is not the sum of the payments recorded for the order (1C's, or
    /// the store's captured payments and refunds).
    Paid,
    /// The deal has no contact, or another one than the order's buyer.
    Contact,
}

impl DifferenceKind {
    /// The name in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DifferenceKind::MissingInCrm => "missing_in_crm",
            DifferenceKind::OrphanInCrm => "orphan_in_crm",
            DifferenceKind::DuplicateInCrm => "duplicate_in_crm",
            DifferenceKind::Amount => "amount",
            DifferenceKind::Currency => "currency",
            DifferenceKind::Stage => "stage",
            DifferenceKind::Rows => "rows",
            DifferenceKind::Paid => "paid",
            DifferenceKind::Contact => "contact",
        }
    }
}

/// What `--fix` does about a difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FixAction {
    /// Write the order's deal again from the store (the store → CRM flow owns the deal): the
    /// deal's snapshot is forgotten so the worker does not take the write for a no-op.
    RewriteDeal,
    /// Create the deal: the one the engine had bound is gone. The worker still looks the origin
    /// up before it creates, so a deal that reappeared is not duplicated.
    CreateDeal,
    /// Two-way pair: run the pair's decide step, so the field's owner (or a person, for a
    /// `manual` field) settles it; never a blind overwrite.
    MergePair,
    /// Queue the order's payments job: the CRM connector writes the payments the deal lacks.
    SyncPayments,
    /// A second deal claims the order: it is made to stop claiming it (its external key
    /// changed, a note left for the manager), never deleted.
    ReleaseDuplicate,
    /// Nothing automatic: the engine never deletes a record. The note says what to do by hand.
    ByHand,
}

impl FixAction {
    /// The name in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FixAction::RewriteDeal => "rewrite_deal",
            FixAction::CreateDeal => "create_deal",
            FixAction::MergePair => "merge_pair",
            FixAction::ReleaseDuplicate => "release_duplicate",
            FixAction::SyncPayments => "sync_payments",
            FixAction::ByHand => "by_hand",
        }
    }
}

/// One difference, reported once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// What differs.
    pub kind: DifferenceKind,
    /// The order flow, for order differences.
    pub flow: String,
    /// The order's id in the store (`None` for a deal whose order is not there).
    pub store_id: Option<String>,
    /// The deal's id in the CRM (`None` when there is no deal).
    pub crm_id: Option<String>,
    /// The field that differs, when one does.
    pub field: Option<String>,
    /// The store's value (what the mapping makes of the order).
    pub store_value: Value,
    /// The CRM's value.
    pub crm_value: Value,
    /// The fix `--fix` applies.
    pub fix: FixAction,
    /// The fix, or what to do by hand, in words.
    pub note: String,
}

/// How much a reconciliation read, and what it cost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Checked {
    /// Orders read from the stores.
    pub orders: u64,
    /// Deals read from the CRMs (listed or read one by one).
    pub deals: u64,
    /// Pairs that agree.
    pub agreeing: u64,
    /// Orders the mapping cannot map (their jobs are on the Errors page; not compared).
    pub unmapped: u64,
    /// Read calls made to the systems' connectors (a listing page or a single read each).
    pub reads: u64,
}

/// One flow's share of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FlowReport {
    /// The flow's name.
    pub flow: String,
    /// The store it reads.
    pub store: String,
    /// The CRM it writes.
    pub crm: String,
    /// What was read.
    pub checked: Checked,
    /// How many differences it found.
    pub differences: u64,
}

/// The whole reconciliation.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Per order flow.
    pub flows: Vec<FlowReport>,
    /// Every difference, flow by flow, in store-id order.
    pub differences: Vec<Difference>,
    /// Totals over the flows.
    pub checked: Checked,
    /// Jobs queued by `--fix` (0 without it).
    pub fixes_queued: u64,
}

impl Report {
    /// Whether the systems agree.
    pub fn agrees(&self) -> bool {
        self.differences.is_empty()
    }

    /// Adds one flow's findings.
    pub fn add(&mut self, flow: FlowReport, differences: Vec<Difference>) {
        let c = &flow.checked;
        self.checked.orders += c.orders;
        self.checked.deals += c.deals;
        self.checked.agreeing += c.agreeing;
        self.checked.unmapped += c.unmapped;
        self.checked.reads += c.reads;
        self.differences.extend(differences);
        self.flows.push(flow);
    }
}

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
    /// The catalog item is not in the CRM's catalog.
    MissingProduct,
    /// The CRM product's price is not the mapped price.
    Price,
    /// The CRM product is active though the source deactivated it, or the reverse.
    Inactive,
    /// The store's stock of a SKU is not the mapped 1C stock (summed over the mapped
    /// warehouses).
    Stock,
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
            DifferenceKind::MissingProduct => "missing_product",
            DifferenceKind::Price => "price",
            DifferenceKind::Inactive => "inactive",
            DifferenceKind::Stock => "stock",
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
    /// The catalog item is pushed again on the catalog's next run (`sync`, its schedule, or the
    /// next 1C exchange): its snapshot is forgotten, or its binding to a product that is gone.
    RepushProduct,
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
            FixAction::RepushProduct => "repush_product",
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
    /// The catalog flow, for catalog differences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog: Option<String>,
    /// The record's id in the store or 1C: the order, or the catalog item (`None` for a deal
    /// whose order is not there).
    pub store_id: Option<String>,
    /// The record's id in the CRM: the deal or the product (`None` when there is none); for a
    /// store's prices and stock, the SKU.
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

/// What a catalog report compares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CatalogTarget {
    /// A CRM's product catalog.
    #[default]
    CrmProducts,
    /// A store's regular prices and stock by SKU.
    StorePrices,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One catalog flow's share of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CatalogReport {
    /// The catalog flow's name.
    pub catalog: String,
    /// What of the system it writes is compared: a CRM's products, or a store's prices and
    /// stock (a flow writing both has one report for each).
    pub target: CatalogTarget,
    /// The system it writes: the CRM, or the store for [`CatalogTarget::StorePrices`].
    pub crm: String,
    /// Items the CRM should hold (SKUs the store should hold).
    pub items: u64,
    /// Products read back from the CRM (SKUs found in the store).
    pub products: u64,
    /// SKUs the store has no writable product for: not differences (a shop may sell part of
    /// 1C's catalog; each catalog run reports them as not found).
    #[serde(skip_serializing_if = "is_zero")]
    pub not_in_store: u64,
    /// Items that agree.
    pub agreeing: u64,
    /// How many differences it found.
    pub differences: u64,
    /// Read calls made to the connector (a page of products each; one for a store's SKUs,
    /// which the connector reads in its own pages).
    pub reads: u64,
    /// Why the catalog could not be compared, when it could not (e.g. its CRM cannot be read
    /// back, or it writes a store's prices, which are not compared yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_compared: Option<String>,
}

/// The whole reconciliation.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Per order flow.
    pub flows: Vec<FlowReport>,
    /// Per catalog flow.
    pub catalogs: Vec<CatalogReport>,
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

//! Documents from 1C (the `type=sale` upload, or `import-1c` of an orders file): order statuses
//! and payments, matched to the orders dealbridge sent to 1C.
//!
//! 1C echoes the site's order in `Ид`/`Номер` (and adds «Номер по 1С»), so a document is matched
//! by its number (then its id) against the `order_export` bindings written when 1C confirmed the
//! export. A match records:
//! - the 1C side of the order: binding (`1c`, `order`, entity) with 1C's number, status, paid and
//!   shipped flags as its snapshot (a changed status changes the hash: issue 6's two-way sync
//!   diffs against it);
//! - each payment: binding (`1c`, `payment`, `<entity>/payment/<id>`) with the canonical
//!   [`Payment`] as snapshot. Upserts: importing the same file twice changes nothing.
//!
//! A document that matches no exported order (an order made in 1C itself, or by a manager on the
//! phone) is stored as binding (`1c`, `order_1c`, `1c:<Ид>`) with the canonical order as its
//! snapshot, so it can be looked at and later mirrored; re-sending it updates it in place.

use super::exchange::SYSTEM_1C;
use super::PaymentsQueue;
use crate::{Document, PaymentInfo};
use chrono::{NaiveDateTime, TimeZone, Utc};
use dealbridge_sdk::model::{ExternalRef, Payment};
use dealbridge_sdk::{Currency, Money};
use dealbridge_store::{EntityKind, NewBinding, Store, StoreError};
use serde_json::json;

/// What happened to one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentOutcome {
    /// Matched to this order entity; `payments` recorded.
    Matched {
        /// The canonical order entity (`shop:123`).
        entity: String,
        /// Payments recorded (new or unchanged).
        payments: usize,
    },
    /// No exported order has this document's number or id.
    Unmatched,
}

/// 1C writes local times without a zone; dealbridge stores UTC. Moscow time (UTC+3, no DST
/// since 2014) is what 1C installations overwhelmingly run on, and is assumed here.
fn local_to_utc(t: NaiveDateTime) -> chrono::DateTime<Utc> {
    let msk = chrono::FixedOffset::east_opt(3 * 3600).expect("valid offset");
    msk.from_local_datetime(&t)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&t))
}

/// Records one document's status and payments against the order it answers; new payments are
/// handed to `payments` (the engine queues the job that shows them on the deal).
pub async fn apply_document(
    store: &Store,
    doc: &Document,
    payments: &dyn PaymentsQueue,
) -> Result<DocumentOutcome, StoreError> {
    let mut export = None;
    for key in [doc.number.as_deref(), Some(doc.id.as_str())]
        .into_iter()
        .flatten()
    {
        if let Some(b) = store
            .binding_by_external(SYSTEM_1C, EntityKind::OrderExport, key)
            .await?
        {
            export = Some(b);
            break;
        }
    }
    let Some(export) = export else {
        let order = doc.to_sdk_order(SYSTEM_1C);
        let snapshot = serde_json::to_value(&order).expect("order encodes");
        store
            .save_binding(&NewBinding {
                system: SYSTEM_1C,
                kind: EntityKind::Order1c,
                entity_id: &format!("{SYSTEM_1C}:{}", doc.id),
                external_id: &doc.id,
                snapshot: Some(&snapshot),
            })
            .await?;
        return Ok(DocumentOutcome::Unmatched);
    };
    let entity = export.entity_id;
    let number_1c = doc.number_1c.clone().unwrap_or_else(|| doc.id.clone());
    let flag = |name: &str| {
        doc.requisite(name)
            .map(|v| v.trim().eq_ignore_ascii_case("true"))
    };
    let state = json!({
        "number_1c": number_1c,
        "status": doc.status(),
        "paid": flag("Оплачен").or_else(|| flag("Заказ оплачен")),
        "shipped": flag("Отгружен"),
        "deleted": doc.deleted,
        "total": doc.total.map(|t| t.to_string()),
    });
    store
        .save_binding(&NewBinding {
            system: SYSTEM_1C,
            kind: EntityKind::Order,
            entity_id: &entity,
            external_id: &number_1c,
            snapshot: Some(&state),
        })
        .await?;
    let currency = doc
        .currency
        .as_deref()
        .and_then(|c| Currency::new(c).ok())
        .unwrap_or_else(|| Currency::new("RUB").expect("RUB"));
    let mut recorded = 0;
    for p in &doc.payments {
        let Some(payment) = payment(doc, p, &currency) else {
            continue;
        };
        let snapshot = serde_json::to_value(&payment).expect("payment encodes");
        store
            .save_binding(&NewBinding {
                system: SYSTEM_1C,
                kind: EntityKind::Payment,
                entity_id: &format!("{entity}/payment/{}", payment.source.id),
                external_id: &payment.source.id,
                snapshot: Some(&snapshot),
            })
            .await?;
        recorded += 1;
    }
    if recorded > 0 {
        // The deal shows them once the payments job runs (it writes only what is new, so a
        // re-sent file costs one read and no write).
        let order_id = entity.split_once(':').map_or(entity.as_str(), |(_, id)| id);
        payments.payments_changed(&entity, order_id).await?;
    }
    Ok(DocumentOutcome::Matched {
        entity,
        payments: recorded,
    })
}

/// The canonical payment, or `None` for a requisite-style "not paid" (no date, no number).
fn payment(doc: &Document, p: &PaymentInfo, currency: &Currency) -> Option<Payment> {
    let id = p.id.clone().or_else(|| p.number.clone()).or_else(|| {
        p.paid_at
            .map(|t| format!("{}:{}", doc.id, t.format("%Y%m%dT%H%M%S")))
    })?;
    // A requisite-style payment states no amount: it means the whole order.
    let amount = p.amount.or(doc.total)?;
    Some(Payment {
        source: ExternalRef {
            system: SYSTEM_1C.into(),
            id,
        },
        order: ExternalRef {
            system: SYSTEM_1C.into(),
            id: doc.id.clone(),
        },
        amount: Money::new(amount, currency.clone()),
        paid_at: p.paid_at.map(local_to_utc),
        document_number: p.number.clone(),
        method: p.method.clone(),
    })
}

/// What applying a file's documents did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DocumentsReport {
    /// Documents matched to an order dealbridge exported.
    pub matched: u64,
    /// Payments recorded on those orders.
    pub payments: u64,
    /// Documents that match no exported order (made in 1C itself); stored as `order_1c`.
    pub unmatched: u64,
}

/// Reads the documents of a CommerceML file (order statuses, payments) and applies each. The
/// catalog part of a file is the import's business; this only looks at documents. New payments
/// go to `payments`.
pub async fn apply_documents_file(
    store: &Store,
    path: &std::path::Path,
    payments: &dyn PaymentsQueue,
) -> Result<DocumentsReport, String> {
    let owned = path.to_path_buf();
    let docs = tokio::task::spawn_blocking(move || -> Result<Vec<Document>, String> {
        let mut reader =
            crate::CmlReader::open(&owned).map_err(|e| format!("{}: {e}", owned.display()))?;
        let mut docs = Vec::new();
        while let Some(item) = reader
            .next_item()
            .map_err(|e| format!("{}: {e}", owned.display()))?
        {
            if let crate::Item::Document(d) = item {
                docs.push(d);
            }
        }
        Ok(docs)
    })
    .await
    .map_err(|e| format!("reading documents failed: {e}"))??;
    let mut report = DocumentsReport::default();
    for doc in &docs {
        match apply_document(store, doc, payments)
            .await
            .map_err(|e| format!("document {}: {e}", doc.id))?
        {
            DocumentOutcome::Matched { payments, .. } => {
                report.matched += 1;
                report.payments += payments as u64;
            }
            DocumentOutcome::Unmatched => report.unmatched += 1,
        }
    }
    Ok(report)
}

//! The generic checks. Each spawns a fresh emulator for the subject, drives the connector
//! through the sdk traits, asserts, and stops the emulator; a failed assertion names the
//! connector ([`Subject::SYSTEM`]) and what it did instead.

mod credentials;
mod idempotency;
mod listing_pages;
mod throttling;
mod vendor_errors;

pub use credentials::auth_failure;
pub use idempotency::find_or_create_idempotent;
pub use listing_pages::paging;
pub use throttling::throttling_and_retry_after;
pub use vendor_errors::error_bodies;

use crate::subject::{Subject, Writes};
use dealbridge_sdk::model::{Deal, ExternalRef, Order};
use dealbridge_sdk::ConnectorError;

/// An id no emulator hands out (numeric, because most vendors' ids are).
pub(crate) const MISSING_ID: &str = "987654321";

/// The origin the CRM checks write deals for: a store order that exists nowhere else.
pub(crate) fn origin(id: &str) -> ExternalRef {
    ExternalRef {
        system: "conformance-shop".into(),
        id: id.into(),
    }
}

/// `sample` made to mirror `origin`.
pub(crate) fn deal_for(sample: &Deal, origin: &ExternalRef) -> Deal {
    Deal {
        title: format!("Order #{}", origin.id),
        origin: origin.clone(),
        ..sample.clone()
    }
}

/// What the engine does before creating a deal: look it up by origin first.
pub(crate) async fn find_or_create(
    deals: &dyn dealbridge_sdk::traits::CrmDeals,
    deal: &Deal,
) -> Result<String, ConnectorError> {
    match deals.find_deal(&deal.origin).await? {
        Some(id) => Ok(id),
        None => deals.create_deal(deal, None).await,
    }
}

/// One write through the subject's write path to record `id`: update a deal, or write back to
/// an order. Used to provoke the vendor's answers on the write path.
pub(crate) async fn write_to<S: Subject>(subject: &S, id: &str) -> Result<(), ConnectorError> {
    match subject.writes() {
        Writes::FindOrCreate { deals, sample, .. } => {
            deals
                .update_deal(id, &deal_for(&sample, &origin("write")), None)
                .await
        }
        Writes::OrderWriteBack { sink, change, .. } => {
            sink.update_order(id, &change).await.map(|_: Order| ())
        }
    }
}

/// The engine's write, once: find-or-create the deal for `origin(key)` on a CRM (its id), or
/// write the subject's change back to its order on a store (the order id).
pub(crate) async fn write_once<S: Subject>(
    subject: &S,
    key: &str,
) -> Result<String, ConnectorError> {
    match subject.writes() {
        Writes::FindOrCreate { deals, sample, .. } => {
            find_or_create(deals, &deal_for(&sample, &origin(key))).await
        }
        Writes::OrderWriteBack {
            sink,
            order_id,
            change,
            ..
        } => sink
            .update_order(&order_id, &change)
            .await
            .map(|o| o.source.id),
    }
}

/// The engine's write with data the system does not accept: a deal at a stage that does not
/// exist, or an order set to a status the store does not have.
pub(crate) async fn write_rejected<S: Subject>(subject: &S) -> Result<(), ConnectorError> {
    match subject.writes() {
        Writes::FindOrCreate {
            deals,
            sample,
            unknown_stage,
        } => {
            let deal = Deal {
                stage: unknown_stage.into(),
                ..deal_for(&sample, &origin("rejected"))
            };
            deals.create_deal(&deal, None).await.map(|_| ())
        }
        Writes::OrderWriteBack {
            sink,
            order_id,
            unknown_status,
            ..
        } => {
            let change = dealbridge_sdk::model::OrderChange {
                status: Some(unknown_status.into()),
                ..Default::default()
            };
            sink.update_order(&order_id, &change).await.map(|_| ())
        }
    }
}

/// Asserts the parts of an error every check cares about: which system it names, and that it
/// never echoes the credential.
pub(crate) fn assert_well_formed<S: Subject>(e: &ConnectorError) {
    assert_eq!(
        e.system,
        S::SYSTEM,
        "{}: the error names another system: {e}",
        S::SYSTEM
    );
    assert!(
        !e.message.contains(S::TEXTS.wrong_credential),
        "{}: the message shows a credential: {}",
        S::SYSTEM,
        e.message
    );
}

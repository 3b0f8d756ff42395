//! Find-or-create idempotency: writing the same thing twice leaves one record, also when the
//! first attempt landed but its answer was lost (the classic duplicate maker).

use super::{deal_for, find_or_create, origin};
use crate::subject::{Setup, Subject, Writes};
use dealbridge_sdk::fault::FaultConfig;
use dealbridge_sdk::model::{Contact, Deal, OrderChange};
use dealbridge_sdk::traits::{CrmDeals, OrderSink};

/// A CRM: a first create whose connection drops after the write, then find-or-create twice
/// for the same origin: one deal, the same id both times, and the second round writes nothing;
/// its buyer, created once, is found again under another spelling of the same e-mail and phone.
/// A store (no find-or-create, see [`Writes::OrderWriteBack`]): the same change written back
/// after a dropped attempt and then again: the order shows it, the repeat writes nothing, and
/// no order is added.
pub async fn find_or_create_idempotent<S: Subject>() {
    let subject = S::start(Setup::seeded(3)).await;
    match subject.writes() {
        Writes::FindOrCreate { deals, sample, .. } => crm::<S>(&subject, deals, &sample).await,
        Writes::OrderWriteBack {
            why,
            sink,
            order_id,
            change,
            ..
        } => store::<S>(&subject, why, sink, &order_id, &change).await,
    }
    subject.stop().await;
}

/// Every call does its work and then loses its answer.
fn drop_after_write() -> FaultConfig {
    FaultConfig {
        drop_after_write_rate: 1.0,
        ..FaultConfig::default()
    }
}

async fn crm<S: Subject>(subject: &S, deals: &dyn CrmDeals, sample: &Deal) {
    let deal = deal_for(sample, &origin("idempotent-1"));
    let before = subject.record_count();
    // Looked up first, as the engine does (and so a connector's lookups of its own set-up,
    // field ids and the like, are done before the fault).
    assert_eq!(
        deals.find_deal(&deal.origin).await.unwrap(),
        None,
        "{}: a fresh origin was found",
        S::SYSTEM
    );
    subject.faults().set(drop_after_write());
    let lost = deals.create_deal(&deal, None).await;
    subject.faults().set(FaultConfig::default());
    assert!(
        lost.is_err(),
        "{}: the answer was dropped, yet the create succeeded",
        S::SYSTEM
    );

    let first = find_or_create(deals, &deal)
        .await
        .unwrap_or_else(|e| panic!("{}: find-or-create: {e}", S::SYSTEM));
    let writes = subject.write_calls();
    let second = find_or_create(deals, &deal)
        .await
        .unwrap_or_else(|e| panic!("{}: find-or-create again: {e}", S::SYSTEM));
    assert_eq!(first, second, "{}: two ids for one origin", S::SYSTEM);
    assert_eq!(
        subject.record_count(),
        before + 1,
        "{}: one origin, one deal",
        S::SYSTEM
    );
    assert_eq!(
        subject.write_calls(),
        writes,
        "{}: the second find-or-create wrote",
        S::SYSTEM
    );
    contact::<S>(subject, deals).await;
}

/// The buyer of a deal is found or created the same way: by e-mail, then phone, whose
/// spelling differs between orders (case, spaces, brackets).
async fn contact<S: Subject>(subject: &S, deals: &dyn CrmDeals) {
    let buyer = |email: &str, phone: &str| Contact {
        source: Some(origin("buyer-1")),
        first_name: "Иван".into(),
        last_name: "Петров".into(),
        company: None,
        email: Some(email.into()),
        phone: Some(phone.into()),
    };
    let first = buyer("Ivan.Petrov@Example.com", "+7 (912) 345-67-89");
    let again = buyer("ivan.petrov@example.com ", "+7 912 345 67 89");
    let id = match deals.find_contact(&first).await {
        Ok(None) => deals.create_contact(&first).await,
        other => panic!("{}: a new buyer looked up: {other:?}", S::SYSTEM),
    }
    .unwrap_or_else(|e| panic!("{}: contact created: {e}", S::SYSTEM));
    let writes = subject.write_calls();
    let found = deals
        .find_contact(&again)
        .await
        .unwrap_or_else(|e| panic!("{}: contact looked up again: {e}", S::SYSTEM));
    assert_eq!(
        found,
        Some(id),
        "{}: the same buyer, found again",
        S::SYSTEM
    );
    assert_eq!(
        subject.write_calls(),
        writes,
        "{}: a lookup wrote",
        S::SYSTEM
    );
}

async fn store<S: Subject>(
    subject: &S,
    why: &str,
    sink: &dyn OrderSink,
    order_id: &str,
    change: &OrderChange,
) {
    let before = subject.record_count();
    subject.faults().set(drop_after_write());
    let lost = sink.update_order(order_id, change).await;
    subject.faults().set(FaultConfig::default());
    assert!(
        lost.is_err(),
        "{}: the answer was dropped ({why})",
        S::SYSTEM
    );

    let unchanged = subject.write_calls();
    let first = sink
        .update_order(order_id, change)
        .await
        .unwrap_or_else(|e| panic!("{}: write-back: {e}", S::SYSTEM));
    let writes = subject.write_calls();
    assert!(
        writes > unchanged,
        "{}: the change needed no write; the check proves nothing",
        S::SYSTEM
    );
    let second = sink
        .update_order(order_id, change)
        .await
        .unwrap_or_else(|e| panic!("{}: write-back again: {e}", S::SYSTEM));
    assert_eq!(first.source.id, order_id, "{}: order id", S::SYSTEM);
    assert_eq!(first.status, second.status, "{}: status", S::SYSTEM);
    assert_eq!(first.note, second.note, "{}: note", S::SYSTEM);
    assert_eq!(
        subject.write_calls(),
        writes,
        "{}: the repeated write-back wrote again ({why})",
        S::SYSTEM
    );
    assert_eq!(subject.record_count(), before, "{}: orders", S::SYSTEM);
}

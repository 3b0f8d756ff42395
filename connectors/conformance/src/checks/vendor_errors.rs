//! Error bodies: the vendor's own error answer becomes a [`ConnectorError`] whose message
//! carries the vendor's words and whose kind sends it the right way: a permanent error to the
//! dead letter, a transient one back to the queue.
//!
//! Auth errors, the third class, are checked by [`super::auth_failure`].

use super::{assert_well_formed, write_rejected, write_to, MISSING_ID};
use crate::subject::{Setup, Subject};
use dealbridge_sdk::fault::FaultOutcome;
use dealbridge_sdk::{ConnectorError, ErrorKind};

/// A write to a record that does not exist gets the vendor's "not found" answer: permanent
/// ([`ErrorKind::NotFound`] or [`ErrorKind::Invalid`], not retried) with the vendor's text.
/// Data the system does not accept (an unknown stage or status) is permanent too, with the
/// vendor's validation message (see [`crate::VendorTexts::rejected`]).
/// The vendor's internal server error is transient (retried) with the vendor's text, and the
/// call after it succeeds.
pub async fn error_bodies<S: Subject>() {
    let subject = S::start(Setup::seeded(1)).await;

    let permanent = write_to(&subject, MISSING_ID)
        .await
        .expect_err("a write to a missing record must fail");
    assert!(
        matches!(permanent.kind, ErrorKind::NotFound | ErrorKind::Invalid),
        "{}: a missing record is not a permanent error: {permanent}",
        S::SYSTEM
    );
    assert!(
        !permanent.should_retry(),
        "{}: a permanent error must not be retried",
        S::SYSTEM
    );
    assert_vendor_words::<S>(&permanent, S::TEXTS.not_found);
    rejected_data::<S>(&subject).await;

    subject.faults().plan(FaultOutcome::ServerError, 1);
    let transient = subject
        .listing()
        .ids(1, S::PAGE_SIZE)
        .await
        .expect_err("the vendor's server error must fail the call");
    assert_eq!(
        transient.kind,
        ErrorKind::Transient,
        "{}: server error: {transient}",
        S::SYSTEM
    );
    assert!(transient.should_retry(), "{}: retried", S::SYSTEM);
    assert_vendor_words::<S>(&transient, S::TEXTS.server_error);
    let after = subject
        .listing()
        .ids(1, S::PAGE_SIZE)
        .await
        .unwrap_or_else(|e| panic!("{}: the call after a server error: {e}", S::SYSTEM));
    assert_eq!(after.items.len(), 1, "{}: listing", S::SYSTEM);
    subject.stop().await;
}

/// Data the system does not accept is [`ErrorKind::Invalid`] and not retried: with the
/// vendor's validation message when the vendor refused it, or refused before sending, in which
/// case nothing reached the vendor's write methods and no record was added.
async fn rejected_data<S: Subject>(subject: &S) {
    let (writes, records) = (subject.write_calls(), subject.record_count());
    let e = write_rejected(subject)
        .await
        .expect_err("data the system does not accept must be refused");
    assert_eq!(
        e.kind,
        ErrorKind::Invalid,
        "{}: rejected data: {e}",
        S::SYSTEM
    );
    assert!(!e.should_retry(), "{}: rejected data retried", S::SYSTEM);
    match S::TEXTS.rejected {
        Some(words) => assert_vendor_words::<S>(&e, words),
        None => {
            assert_well_formed::<S>(&e);
            assert_eq!(
                subject.write_calls(),
                writes,
                "{}: refused before sending, yet a write went out",
                S::SYSTEM
            );
        }
    }
    assert_eq!(subject.record_count(), records, "{}: records", S::SYSTEM);
}

fn assert_vendor_words<S: Subject>(e: &ConnectorError, words: &str) {
    assert!(
        e.message.contains(words),
        "{}: the message lacks the vendor's words {words:?}: {}",
        S::SYSTEM,
        e.message
    );
    assert_well_formed::<S>(e);
}

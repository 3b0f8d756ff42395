//! Error bodies: the vendor's own error answer becomes a [`ConnectorError`] whose message
//! carries the vendor's words and whose kind sends it the right way: a permanent error to the
//! dead letter, a transient one back to the queue.
//!
//! Auth errors, the third class, are checked by [`super::auth_failure`].

use super::{assert_well_formed, write_to, MISSING_ID};
use crate::subject::{Setup, Subject};
use dealbridge_sdk::fault::FaultOutcome;
use dealbridge_sdk::{ConnectorError, ErrorKind};

/// A write to a record that does not exist gets the vendor's "not found" answer: permanent
/// ([`ErrorKind::NotFound`] or [`ErrorKind::Invalid`], not retried) with the vendor's text.
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

fn assert_vendor_words<S: Subject>(e: &ConnectorError, words: &str) {
    assert!(
        e.message.contains(words),
        "{}: the message lacks the vendor's words {words:?}: {}",
        S::SYSTEM,
        e.message
    );
    assert_well_formed::<S>(e);
}

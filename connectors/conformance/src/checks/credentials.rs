//! Auth failure: wrong credentials are an auth error, not retried, with the vendor's words,
//! on the read path and the write path alike, and nothing is written.

use super::{assert_well_formed, write_to};
use crate::subject::{Credentials, Setup, Subject};
use dealbridge_sdk::{ConnectorError, ErrorKind};

/// Builds the client with a credential the emulator does not accept; a listing and a write
/// both fail with [`ErrorKind::Auth`], which the queue does not retry, and the message carries
/// the vendor's own text ([`crate::VendorTexts::auth`]) but not the credential.
pub async fn auth_failure<S: Subject>() {
    let subject = S::start(Setup {
        records: 1,
        credentials: Credentials::Wrong,
    })
    .await;
    let read = subject
        .listing()
        .ids(1, S::PAGE_SIZE)
        .await
        .expect_err("a listing with wrong credentials must fail");
    assert_auth::<S>(&read, "listing");

    let before = subject.record_count();
    let write = write_to(&subject, "1")
        .await
        .expect_err("a write with wrong credentials must fail");
    assert_auth::<S>(&write, "write");
    assert_eq!(
        subject.record_count(),
        before,
        "{}: a refused write added a record",
        S::SYSTEM
    );
    subject.stop().await;
}

fn assert_auth<S: Subject>(e: &ConnectorError, what: &str) {
    assert_eq!(e.kind, ErrorKind::Auth, "{} {what}: {e}", S::SYSTEM);
    assert!(
        !e.should_retry(),
        "{} {what}: rejected credentials must not be retried",
        S::SYSTEM
    );
    assert!(
        e.message.contains(S::TEXTS.auth),
        "{} {what}: the message lacks the vendor's words {:?}: {}",
        S::SYSTEM,
        S::TEXTS.auth,
        e.message
    );
    assert_well_formed::<S>(e);
}

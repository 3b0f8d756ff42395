//! Throttling and `Retry-After`: a throttled call either waits what the vendor asked and then
//! succeeds, or comes back rate-limited carrying that delay for the queue; and a throttled
//! write lands nothing, so the retry cannot duplicate.
//!
//! No client in this workspace retries a throttled call itself: the sdk's error model hands
//! the delay to the durable queue ([`ConnectorError::retry_after`]), which waits and retries
//! the job. The check accepts either design, so a connector that does retry in-request (as
//! the vendors' own SDKs do) passes too, provided it waits long enough.

use super::{assert_well_formed, write_once};
use crate::subject::{Setup, Subject, Writes};
use dealbridge_sdk::fault::FaultOutcome;
use dealbridge_sdk::{ConnectorError, ErrorKind};
use std::time::{Duration, Instant};

/// The next call is answered with the vendor's throttling response (its status, body and
/// `Retry-After`, see [`crate::VendorTexts::retry_after`]); the listing must then either have
/// waited at least that long and succeeded, or fail as [`ErrorKind::RateLimited`] with a
/// delay at least that long, after which the same call succeeds. A throttled write likewise,
/// and while refused it adds no record.
pub async fn throttling_and_retry_after<S: Subject>() {
    let subject = S::start(Setup::seeded(2)).await;
    subject.faults().plan(FaultOutcome::Throttle, 1);
    let started = Instant::now();
    match subject.listing().ids(1, S::PAGE_SIZE).await {
        Ok(page) => {
            assert_waited::<S>(started);
            assert_eq!(page.items.len(), 2, "{}: page after the retry", S::SYSTEM);
        }
        Err(e) => {
            let wait = assert_throttled::<S>(&e, "listing");
            tokio::time::sleep(wait).await;
            let page = subject
                .listing()
                .ids(1, S::PAGE_SIZE)
                .await
                .unwrap_or_else(|e| panic!("{}: after waiting {wait:?}: {e}", S::SYSTEM));
            assert_eq!(page.items.len(), 2, "{}: page after the wait", S::SYSTEM);
        }
    }
    assert_eq!(subject.faults().planned(), 0, "{}: plan used", S::SYSTEM);

    // A throttled write: nothing lands, so the queue's retry cannot duplicate it.
    let before = subject.record_count();
    subject.faults().plan(FaultOutcome::Throttle, 1);
    let started = Instant::now();
    match write_once(&subject, "throttled").await {
        Ok(_) => assert_waited::<S>(started),
        Err(e) => {
            let wait = assert_throttled::<S>(&e, "write");
            let landed = subject.record_count();
            assert_eq!(landed, before, "{}: throttled write landed", S::SYSTEM);
            tokio::time::sleep(wait).await;
            write_once(&subject, "throttled")
                .await
                .unwrap_or_else(|e| panic!("{}: the write after waiting: {e}", S::SYSTEM));
        }
    }
    let created = usize::from(matches!(subject.writes(), Writes::FindOrCreate { .. }));
    assert_eq!(
        subject.record_count(),
        before + created,
        "{}: records after the throttled write went through",
        S::SYSTEM
    );
    subject.stop().await;
}

/// A throttled call retried in-request must have waited what the vendor asked (or a second,
/// where the vendor names no delay).
fn assert_waited<S: Subject>(started: Instant) {
    let floor = S::TEXTS.retry_after.unwrap_or(Duration::from_secs(1));
    assert!(
        started.elapsed() >= floor,
        "{}: retried a throttled call after {:?}, before the {floor:?} asked",
        S::SYSTEM,
        started.elapsed()
    );
}

/// Asserts a rate-limited error with a usable delay, and returns the delay.
fn assert_throttled<S: Subject>(e: &ConnectorError, what: &str) -> Duration {
    assert_eq!(e.kind, ErrorKind::RateLimited, "{} {what}: {e}", S::SYSTEM);
    assert!(e.should_retry(), "{} {what}: must be retried", S::SYSTEM);
    assert_well_formed::<S>(e);
    let wait = e.retry_after.unwrap_or_else(|| {
        panic!(
            "{} {what}: rate-limited without a delay for the queue: {e}",
            S::SYSTEM
        )
    });
    assert!(!wait.is_zero(), "{} {what}: a zero delay", S::SYSTEM);
    if let Some(asked) = S::TEXTS.retry_after {
        assert!(
            wait >= asked,
            "{} {what}: waits {wait:?}, less than the Retry-After {asked:?} the vendor sent",
            S::SYSTEM
        );
    }
    wait
}

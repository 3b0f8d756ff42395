//! Paging: a listing walked page by page returns every record once, in pages of the size asked
//! for, and says where it ends.

use crate::subject::{Setup, Subject};
use std::collections::BTreeSet;

/// Seeds two full pages and one record more, then walks the listing from page 1 by
/// `next_page`: every seeded record comes back exactly once, every page but the last is full,
/// the last one says there is no next page, and a reported total matches.
pub async fn paging<S: Subject>() {
    let per_page = S::PAGE_SIZE;
    let records = 2 * per_page as usize + 1;
    let subject = S::start(Setup::seeded(records)).await;
    assert_eq!(subject.record_count(), records, "{}: seeding", S::SYSTEM);

    let mut seen = BTreeSet::new();
    let mut sizes = Vec::new();
    let mut page = 1;
    loop {
        let p = subject
            .listing()
            .ids(page, per_page)
            .await
            .unwrap_or_else(|e| panic!("{}: page {page}: {e}", S::SYSTEM));
        if let Some(total) = p.total {
            assert_eq!(total, records as u64, "{}: page {page} total", S::SYSTEM);
        }
        sizes.push(p.items.len());
        for id in p.items {
            assert!(
                seen.insert(id.clone()),
                "{}: record {id} came back twice (page {page})",
                S::SYSTEM
            );
        }
        match p.next_page {
            Some(next) => {
                assert_eq!(next, page + 1, "{}: next page after {page}", S::SYSTEM);
                page = next;
            }
            None => break,
        }
        assert!(page <= 10, "{}: the listing never ends", S::SYSTEM);
    }
    let full = per_page as usize;
    assert_eq!(
        sizes,
        vec![full, full, 1],
        "{}: page sizes for {records} records at {per_page} a page",
        S::SYSTEM
    );
    assert_eq!(seen.len(), records, "{}: records listed", S::SYSTEM);
    subject.stop().await;
}

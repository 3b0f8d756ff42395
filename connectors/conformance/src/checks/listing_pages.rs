//! Paging: a listing walked page by page returns every record once, in pages of the size asked
//! for, and says where it ends; and a record changed while the listing is walked hides no other.
//!
//! The second part is the classic trap of offset paging sorted by modification time: the
//! changed record moves to the end, every later one shifts back by one, and the record at the
//! next page's start is never listed in that pass. The engine moves its cursor past it after
//! the pass, so its change is lost unless it falls inside the overlap window.

use crate::subject::{Setup, Subject};
use std::collections::BTreeSet;

/// Walks the listing from page 1 by `next_page`, touching the first record listed once page 1
/// is read when `touch_first`.
/// Returns the ids of each page, in order.
async fn walk<S: Subject>(subject: &S, touch_first: bool) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut page = 1;
    loop {
        let p = subject
            .listing()
            .ids(page, S::PAGE_SIZE)
            .await
            .unwrap_or_else(|e| panic!("{}: page {page}: {e}", S::SYSTEM));
        if let Some(total) = p.total {
            assert!(total > 0, "{}: page {page} total {total}", S::SYSTEM);
        }
        if page == 1 && touch_first {
            if let Some(first) = p.items.first() {
                subject.touch(first).await;
            }
        }
        pages.push(p.items);
        match p.next_page {
            Some(next) => {
                assert_eq!(next, page + 1, "{}: next page after {page}", S::SYSTEM);
                page = next;
            }
            None => break,
        }
        assert!(page <= 10, "{}: the listing never ends", S::SYSTEM);
    }
    pages
}

/// Seeds two full pages and one record more, then walks the listing from page 1 by
/// `next_page`: every seeded record comes back exactly once, every page but the last is full,
/// the last one says there is no next page, and a reported total matches. Walked again with
/// the first record changed ([`Subject::touch`]) after page 1 is read, every record is still
/// listed (the changed one may come back twice).
pub async fn paging<S: Subject>() {
    let per_page = S::PAGE_SIZE;
    let records = 2 * per_page as usize + 1;
    let subject = S::start(Setup::seeded(records)).await;
    assert_eq!(subject.record_count(), records, "{}: seeding", S::SYSTEM);

    let first = subject
        .listing()
        .ids(1, per_page)
        .await
        .unwrap_or_else(|e| panic!("{}: page 1: {e}", S::SYSTEM));
    if let Some(total) = first.total {
        assert_eq!(total, records as u64, "{}: total", S::SYSTEM);
    }
    let pages = walk(&subject, false).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    let full = per_page as usize;
    assert_eq!(
        sizes,
        vec![full, full, 1],
        "{}: page sizes for {records} records at {per_page} a page",
        S::SYSTEM
    );
    let mut seen = BTreeSet::new();
    for id in pages.into_iter().flatten() {
        assert!(seen.insert(id.clone()), "{}: {id} listed twice", S::SYSTEM);
    }
    assert_eq!(seen.len(), records, "{}: records listed", S::SYSTEM);

    let moved: BTreeSet<String> = walk(&subject, true).await.into_iter().flatten().collect();
    let hidden: Vec<&String> = seen.difference(&moved).collect();
    assert!(
        hidden.is_empty(),
        "{}: records changed mid-listing hid {hidden:?} from the walk",
        S::SYSTEM
    );
    subject.stop().await;
}

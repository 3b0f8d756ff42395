//! The crate's integration tests, one module a subject, linked into one test binary:
//! one binary instead of one a file keeps the build's disk use and link time down.

mod count_equivalence;
mod fixtures_counts;
mod hostile;
mod info_writer;
mod reader_items;
mod writer;

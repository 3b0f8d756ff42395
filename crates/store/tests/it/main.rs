//! The crate's integration tests, one module a subject, linked into one test binary:
//! one binary instead of one a file keeps the build's disk use and link time down.

#[macro_use]
mod common;

mod alerts;
mod catalog;
mod first_error;
mod gauges;
mod journal_page;
mod lock;
mod queue;
mod rejections;
mod state;

//! The crate's integration tests, one module a subject, linked into one test binary:
//! one binary instead of one a file keeps the build's disk use and link time down.

mod common;

mod batch;
mod catalog;
mod catalog_api;
mod companies;
mod crm_flow;
mod deals;
mod fixtures;
mod limits_auth_faults;
mod oauth;
mod operating_time;
mod pipelines;
mod two_way;

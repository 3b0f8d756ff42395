//! The API v4 endpoints, one file per resource.

pub(crate) mod catalogs;
pub(crate) mod contacts;
pub(crate) mod leads;
pub(crate) mod links;
pub(crate) mod meta;
pub(crate) mod notes;

//! `dealbridge check --remote`: what a connector checks against the live system.

use super::BuildContext;
use std::collections::BTreeMap;

/// What the engine asks a connector to check remotely for one system.
pub struct RemoteCheck<'a> {
    /// The system's settings and state, as for building it.
    pub build: BuildContext<'a>,
    /// For a CRM: per pipeline, the (mapping file, stage id) pairs the mappings name.
    pub stages: BTreeMap<u32, Vec<(String, String)>>,
    /// For a store: the names of the 1C catalogs that set its stock.
    pub stock_catalogs: Vec<String>,
}

/// What a remote check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteReport {
    /// Mistakes, one message each (file or system named, what to do).
    pub problems: Vec<String>,
    /// Facts worth printing (which location a catalog's stock goes to).
    pub notes: Vec<String>,
}

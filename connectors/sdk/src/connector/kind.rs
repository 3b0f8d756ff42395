//! [`SystemKind`]: a registered connector, as the config's `kind = "…"` names it.

use super::{Connector, Role};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// A kind of system: a handle on its registered [`Connector`]. Compared, ordered and hashed by
/// its `kind` name.
#[derive(Clone, Copy)]
pub struct SystemKind(&'static dyn Connector);

impl SystemKind {
    /// The kind served by `connector`.
    pub fn new(connector: &'static dyn Connector) -> Self {
        SystemKind(connector)
    }

    /// The name used in config files.
    pub fn as_str(self) -> &'static str {
        self.0.kind()
    }

    /// The connector behind this kind.
    pub fn connector(self) -> &'static dyn Connector {
        self.0
    }

    /// Store or CRM.
    pub fn role(self) -> Role {
        self.0.role()
    }

    /// Whether orders come from it.
    pub fn is_store(self) -> bool {
        self.role() == Role::Store
    }
}

impl PartialEq for SystemKind {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SystemKind {}

impl PartialOrd for SystemKind {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SystemKind {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for SystemKind {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for SystemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SystemKind({})", self.as_str())
    }
}

impl fmt::Display for SystemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

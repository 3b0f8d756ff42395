//! Mapping files (being written).

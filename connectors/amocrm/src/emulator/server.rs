//! The connection control handlers use to drop a connection; the accept loop itself is
//! `dealbridge_sdk::emulator_server`.

pub(crate) use dealbridge_sdk::emulator_server::ConnControl;

//! The accept loop, shared by every emulator: see `dealbridge_sdk::emulator_server`.

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub(crate) use dealbridge_sdk::emulator_server::ConnControl;

/// Accepts connections until `stop` fires, then closes every open connection.
pub(crate) async fn serve(listener: TcpListener, app: Router, stop: oneshot::Receiver<()>) {
    dealbridge_sdk::emulator_server::serve(listener, app, stop, "bitrix24 emulator").await
}

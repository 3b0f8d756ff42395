//! The emulators' accept loop: connections served one by one, so a handler can drop its own
//! connection. Shared by every vendor emulator.
//!
//! `axum::serve` gives a handler no way to close the TCP connection without answering, which is
//! what the `Drop`, `Timeout` and `DropAfterWrite` faults need. Here each accepted connection runs
//! in its own task next to a [`ConnControl`]; the handler finds the control in its request
//! extensions, and killing it drops the connection future, which closes the socket mid-request.

use axum::{Extension, Router};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinSet;

/// Lets a handler close the connection it is serving, without an answer.
#[derive(Clone, Default)]
pub struct ConnControl {
    kill: Arc<Notify>,
}

impl ConnControl {
    /// Closes the connection. The calling handler is dropped with it, so it should not expect
    /// to run further.
    pub fn kill(&self) {
        self.kill.notify_one();
    }

    async fn killed(&self) {
        self.kill.notified().await;
    }
}

/// Accepts connections until `stop` fires, then closes every open connection. `name` labels
/// the emulator in logs.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    mut stop: oneshot::Receiver<()>,
    name: &'static str,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    conns.spawn(serve_one(stream, app.clone()));
                }
                Err(e) => {
                    // EMFILE and the like: back off instead of spinning.
                    tracing::warn!(error = %e, emulator = name, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

async fn serve_one(stream: TcpStream, app: Router) {
    let _ = stream.set_nodelay(true);
    let control = ConnControl::default();
    let service = TowerToHyperService::new(app.layer(Extension(control.clone())));
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        // Dropping `conn` here closes the socket without writing anything.
        _ = control.killed() => {}
    }
}

/// A running accept loop: stopped by [`ServerTask::stop`], or when dropped (so a dropped emulator
/// frees its port without waiting for the runtime to end).
#[derive(Debug)]
pub struct ServerTask {
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl ServerTask {
    /// Serves `app` on `listener` in a background task; `name` labels the emulator in logs.
    pub fn start(listener: TcpListener, app: Router, name: &'static str) -> ServerTask {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(serve(listener, app, stopped, name));
        ServerTask {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops accepting, closes every open connection, and waits for the task to end.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ServerTask {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

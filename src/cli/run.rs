//! `dealbridge run`: pollers, workers and the HTTP server until SIGTERM or Ctrl-C.

use crate::alerts::exchange::JournaledImporter;
use crate::app::App;
use crate::onec::endpoint::{self as exchange_endpoint, ExchangeSettings, ExchangeState};
use crate::onec::exchange::StoreImporter;
use crate::server::webhooks::{self, WebhookState};
use crate::server::{router_with, AppState};
use anyhow::Context;
use std::future::IntoFuture;
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing::info;

/// Runs until a shutdown signal; in-flight jobs finish and release their leases.
pub async fn run(config: &Path) -> anyhow::Result<u8> {
    let app = App::load(config).await?;
    let listen = app.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {listen} (server.listen in {}); is another process using it?",
                config.display()
            )
        })?;
    info!(addr = %listener.local_addr()?, "HTTP server listening (/healthz, /status, /metrics)");
    let shutdown = CancellationToken::new();
    let server_stop = shutdown.clone();
    let exchange = app.config.exchange_1c.as_ref().map(|c| {
        info!(path = %c.path, "1C exchange endpoint enabled");
        let mut settings = ExchangeSettings::from_config(c);
        settings.info_statuses = crate::app::info_statuses(&app.config);
        let importer = Arc::new(
            StoreImporter::new(app.store.clone(), crate::app::payments_queue(&app))
                .with_export_stages(c.export_stages.clone())
                .with_payment_methods(crate::app::payment_methods(&app.config))
                .with_catalog_wake(app.engine.catalog_wake.clone())
                .with_import_options(crate::app::onec_import_options(&app.config)),
        );
        // Each step's outcome journaled (each file by the importer itself): the Activity page,
        // the Overview and the 1C alert read it.
        let importer = Arc::new(JournaledImporter::new(importer, app.store.clone()));
        exchange_endpoint::router(ExchangeState::new(settings, importer))
    });
    let routes = router_with(
        AppState::new(app.store.clone(), Some(app.engine.health.clone()))
            .with_flows(Arc::new(app.config.clone()))
            .with_metrics_token(app.config.server.metrics_token.clone()),
        exchange,
    )
    .merge(webhooks::router(WebhookState::new(
        app.store.clone(),
        &app.config,
        app.engine.inbox_wake.clone(),
    )));
    let routes = match console(&app) {
        Some(console) => routes.merge(console),
        None => routes,
    };
    let server = tokio::spawn(
        axum::serve(listener, routes)
            .with_graceful_shutdown(async move { server_stop.cancelled().await })
            .into_future(),
    );
    let signals = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("shutdown requested; finishing in-flight work");
        signals.cancel();
    });
    let engine = Arc::new(app.engine);
    engine.run(shutdown.clone()).await?;
    shutdown.cancel();
    server.await??;
    app.store.close().await;
    Ok(super::exit::OK)
}

/// The web console, when it may be served: with `[server] console_token` anywhere, without one
/// only on a loopback address (it shows customers' names and e-mails). Says which at start.
pub fn console(app: &App) -> Option<axum::Router> {
    use crate::server::console::{auth::ConsoleAuth, router, ConsoleState};
    let listen = app.listen;
    let token = app.config.server.console_token.clone();
    if token.is_none() && !listen.ip().is_loopback() {
        tracing::warn!(
            %listen,
            "the web console is not served: {listen} is not a loopback address and [server] console_token is not set"
        );
        return None;
    }
    info!(
        url = %format!("http://{listen}/"),
        login = token.is_some(),
        "web console (failed jobs, retry and drop)"
    );
    Some(router(ConsoleState {
        store: app.store.clone(),
        config: Arc::new(app.config.clone()),
        health: Some(app.engine.health.clone()),
        reconciler: Some(app.engine.reconciler()),
        auth: Arc::new(ConsoleAuth::new(token)),
    }))
}

/// SIGTERM (service managers) or SIGINT (Ctrl-C).
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

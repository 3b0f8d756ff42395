//! Wiring: config → store, connector clients, flows and the engine. This is the one place that
//! knows which connector crate serves which `kind`; adding a system means adding a match arm here.

use crate::config::{is_store, Entity};
use crate::config::{Config, SystemConfig};
use crate::sync::catalog::{CatalogFlow, CatalogSource, StorePricePush};
use crate::sync::engine::{Engine, EngineSettings, Tally};
use crate::sync::poll::OrderFlow;
use crate::sync::pull::DealPullFlow;
use crate::sync::schedule::ScheduledJob;
use crate::sync::worker::{Executor, FlowTarget, TwoWay};
use anyhow::Context;
use dealbridge_amocrm::{AmoClient, AmoDeals, DealSettings};
use dealbridge_bitrix24::{Bitrix24Client, ClientLimits};
use dealbridge_sdk::traits::{
    CrmCatalog, CrmDealReader, CrmDeals, CrmPayments, OrderSink, OrderSource, PaymentSource,
};
use dealbridge_shopify::ShopifyClient;
use dealbridge_store::{BackoffPolicy, Store};
use dealbridge_woocommerce::WooClient;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// A loaded, wired application.
pub struct App {
    /// The validated config.
    pub config: Config,
    /// The state database.
    pub store: Store,
    /// Flows and workers.
    pub engine: Engine,
    /// Where the HTTP server listens.
    pub listen: SocketAddr,
}

/// Loads and validates the config, naming every mistake with file:line.
pub fn load_config(path: &Path) -> anyhow::Result<Config> {
    Config::load(path).map_err(|errors| {
        anyhow::anyhow!(
            "{} is not valid (run `dealbridge check` for the same list):\n{errors}",
            path.display()
        )
    })
}

/// Opens the state database the config names (and applies migrations).
pub async fn open_store(path: &Path) -> anyhow::Result<Store> {
    let config = load_config(path)?;
    connect(&config).await
}

async fn connect(config: &Config) -> anyhow::Result<Store> {
    Store::connect(config.database.url.expose())
        .await
        .with_context(|| {
            format!(
                "cannot open the state database {}",
                config.database.redacted_url()
            )
        })
}

impl App {
    /// Loads the config at `path` and builds everything it describes.
    pub async fn load(path: &Path) -> anyhow::Result<App> {
        let config = load_config(path)?;
        let store = connect(&config).await?;
        let mut sources: BTreeMap<String, Arc<dyn OrderSource>> = BTreeMap::new();
        let mut crms: BTreeMap<String, Arc<dyn CrmDeals>> = BTreeMap::new();
        // The two-way seams: CRMs whose deals can be read back, stores whose orders can be written.
        let mut readers: BTreeMap<String, Arc<dyn CrmDealReader>> = BTreeMap::new();
        let mut sinks: BTreeMap<String, Arc<dyn OrderSink>> = BTreeMap::new();
        let mut payment_sources: BTreeMap<String, Arc<dyn PaymentSource>> = BTreeMap::new();
        let mut payments: BTreeMap<String, Arc<dyn CrmPayments>> = BTreeMap::new();
        let mut crm_catalogs: BTreeMap<String, Arc<dyn CrmCatalog>> = BTreeMap::new();
        let mut price_push: BTreeMap<String, Arc<dyn StorePricePush>> = BTreeMap::new();
        let mut catalog_sources: BTreeMap<String, Arc<dyn CatalogSource>> = BTreeMap::new();
        for (name, system) in &config.systems {
            let timeouts = system.limits().timeouts();
            match system {
                SystemConfig::WooCommerce(w) => {
                    let client = WooClient::new(
                        w.base_url.as_str(),
                        w.consumer_key.expose(),
                        w.consumer_secret.expose(),
                        timeouts,
                    )
                    .with_context(|| {
                        format!("systems.{name}: cannot build the WooCommerce client")
                    })?
                    .with_system_name(name.clone());
                    let client = Arc::new(client);
                    sinks.insert(name.clone(), client.clone());
                    price_push.insert(name.clone(), client.clone());
                    catalog_sources.insert(name.clone(), client.clone());
                    payment_sources.insert(name.clone(), client.clone());
                    sources.insert(name.clone(), client);
                }
                SystemConfig::Shopify(c) => {
                    let client =
                        ShopifyClient::new(c.base_url.as_str(), c.access_token.expose(), timeouts)
                            .with_context(|| {
                                format!("systems.{name}: cannot build the Shopify client")
                            })?
                            .with_system_name(name.clone())
                            .with_location_id(c.location_id);
                    let client = Arc::new(client);
                    sinks.insert(name.clone(), client.clone());
                    price_push.insert(name.clone(), client.clone());
                    catalog_sources.insert(name.clone(), client.clone());
                    payment_sources.insert(name.clone(), client.clone());
                    sources.insert(name.clone(), client);
                }
                SystemConfig::AmoCrm(a) => {
                    let limits = a
                        .limits
                        .rate_limit
                        .map(|r| dealbridge_amocrm::ClientLimits {
                            per_second: r.per_second,
                            burst: r.burst,
                        })
                        .unwrap_or_default();
                    let client = amo_client(&store, name, a, limits, timeouts)
                        .await
                        .with_context(|| {
                            format!("systems.{name}: cannot build the amoCRM client")
                        })?;
                    // The pipeline comes with each deal from the flow's mapping; this one is
                    // only the fallback for a deal that names none.
                    let pipeline = config
                        .flows
                        .iter()
                        .find(|f| &f.to == name)
                        .and_then(|f| f.mapping.deal.pipeline)
                        .unwrap_or(0);
                    crm_catalogs.insert(
                        name.clone(),
                        Arc::new(dealbridge_amocrm::AmoCatalog::new(
                            client.clone(),
                            dealbridge_amocrm::CatalogSettings::default(),
                        )),
                    );
                    let deals = Arc::new(AmoDeals::new(
                        client,
                        DealSettings::new(u64::from(pipeline)),
                    ));
                    readers.insert(name.clone(), deals.clone());
                    payments.insert(name.clone(), deals.clone());
                    crms.insert(name.clone(), deals);
                }
                SystemConfig::Bitrix24(b) => {
                    let limits = b
                        .limits
                        .rate_limit
                        .map(|r| ClientLimits {
                            per_second: r.per_second,
                            burst: r.burst,
                        })
                        .unwrap_or_default();
                    let client = bitrix24_client(&store, name, b, limits, timeouts)
                        .await
                        .with_context(|| {
                            format!("systems.{name}: cannot build the Bitrix24 client")
                        })?
                        .with_config_name(name.clone())
                        .with_settings(bitrix24_settings(b));
                    let client = Arc::new(client);
                    readers.insert(name.clone(), client.clone());
                    payments.insert(name.clone(), client.clone());
                    crm_catalogs.insert(name.clone(), client.clone());
                    crms.insert(name.clone(), client);
                }
            }
        }
        let sync = &config.sync;
        let mut flows = Vec::new();
        let mut targets = BTreeMap::new();
        let is_reverse = |from: &str| {
            config
                .systems
                .get(from)
                .is_some_and(|s| !is_store(s.kind()))
        };
        for flow in config.flows.iter().filter(|f| !is_reverse(&f.from)) {
            // `check` guarantees the pair is supported; these lookups name the gap if not.
            let source = sources.get(&flow.from).with_context(|| {
                format!(
                    "flow {}: `{}` cannot be read as an order source",
                    flow.name, flow.from
                )
            })?;
            anyhow::ensure!(
                crms.contains_key(&flow.to),
                "flow {}: `{}` cannot take deals",
                flow.name,
                flow.to
            );
            flows.push(Arc::new(OrderFlow {
                name: flow.name.clone(),
                source_system: flow.from.clone(),
                target_system: flow.to.clone(),
                source: source.clone(),
                page_size: sync.page_size,
                overlap: sync.overlap,
                max_attempts: sync.max_attempts,
            }));
            targets.insert(
                flow.name.clone(),
                FlowTarget {
                    source_system: flow.from.clone(),
                    target_system: flow.to.clone(),
                    planner: Arc::new(flow.mapping.clone()),
                    payments: flow.entities.contains(&Entity::Payment),
                    two_way: None,
                    link_products: config.catalogs.iter().any(|c| c.to == flow.to),
                },
            );
        }
        // CRM → store flows turn their forward flow into a two-way pair.
        let mut pulls = Vec::new();
        for flow in config.flows.iter().filter(|f| is_reverse(&f.from)) {
            let (forward_name, target) = targets
                .iter_mut()
                .find(|(_, t)| t.source_system == flow.to && t.target_system == flow.from)
                .with_context(|| {
                    format!(
                        "flow {}: no flow carries orders from `{}` to `{}` to pair with",
                        flow.name, flow.to, flow.from
                    )
                })?;
            let reader = readers.get(&flow.from).with_context(|| {
                format!(
                    "flow {}: deals of `{}` cannot be read back by this build",
                    flow.name, flow.from
                )
            })?;
            let sink = sinks.get(&flow.to).with_context(|| {
                format!(
                    "flow {}: orders of `{}` cannot be written by this build",
                    flow.name, flow.to
                )
            })?;
            let source = sources
                .get(&flow.to)
                .with_context(|| format!("flow {}: `{}` is not a store", flow.name, flow.to))?;
            target.two_way = Some(TwoWay {
                mapping: Arc::new(flow.mapping.clone()),
                reader: reader.clone(),
                sink: sink.clone(),
                source: source.clone(),
            });
            pulls.push(Arc::new(DealPullFlow {
                name: flow.name.clone(),
                forward: forward_name.clone(),
                crm_system: flow.from.clone(),
                store_system: flow.to.clone(),
                reader: reader.clone(),
                page_size: sync.page_size,
                overlap: sync.overlap,
                max_attempts: sync.max_attempts,
            }));
        }
        let mut catalogs = Vec::new();
        for c in &config.catalogs {
            let mut flow = match &c.from {
                None => {
                    CatalogFlow::new(&c.name, crate::onec::exchange::SYSTEM_1C, c.mapping.clone())
                }
                Some(shop) => {
                    let source = catalog_sources.get(shop).with_context(|| {
                        format!("catalog {}: `{shop}` has no readable catalog", c.name)
                    })?;
                    CatalogFlow::from_store(&c.name, shop, source.clone())
                }
            };
            if let Some(crm) = crm_catalogs.get(&c.to) {
                flow = flow.with_crm(&c.to, crm.clone());
            } else if let Some(shop) = price_push.get(&c.to) {
                flow = flow.with_store(&c.to, shop.clone());
            } else {
                anyhow::bail!(
                    "catalog {}: `{}` takes no catalog in this build",
                    c.name,
                    c.to
                );
            }
            catalogs.push(Arc::new(flow));
        }
        let schedules = config
            .schedules
            .iter()
            .map(|s| {
                Arc::new(ScheduledJob {
                    config: s.clone(),
                    flows: flows
                        .iter()
                        .filter(|f| s.covers(&f.name))
                        .cloned()
                        .collect(),
                    pulls: pulls
                        .iter()
                        .filter(|p| s.covers(&p.name) || s.covers(&p.forward))
                        .cloned()
                        .collect(),
                    catalogs: catalogs
                        .iter()
                        .filter(|c| s.covers(&c.name))
                        .cloned()
                        .collect(),
                })
            })
            .collect();
        let queue = store.queue().with_backoff(BackoffPolicy {
            base: sync.backoff_base,
            max: sync.backoff_max,
            ..BackoffPolicy::default()
        });
        let mut executor = Executor::new(store.clone(), queue, crms, targets);
        executor.payments = payments;
        executor.payment_sources = payment_sources;
        executor.sinks = sinks;
        executor.sources = sources;
        executor.max_attempts = sync.max_attempts;
        let executor = Arc::new(executor);
        let engine = Engine {
            store: store.clone(),
            flows,
            pulls,
            schedules,
            catalogs,
            executor,
            settings: EngineSettings {
                workers: sync.workers as usize,
                lease: sync.lease,
                poll_interval: sync.poll_interval,
                retention: sync.retention,
                ..EngineSettings::default()
            },
            tally: Arc::new(Tally::default()),
            inbox_wake: Arc::new(tokio::sync::Notify::new()),
            catalog_wake: Arc::new(tokio::sync::Notify::new()),
            health: Arc::default(),
        };
        Ok(App {
            listen: config.server.listen,
            config,
            store,
            engine,
        })
    }
}

/// The Bitrix24 connector's settings from `[systems.<name>]`.
fn bitrix24_settings(b: &crate::config::Bitrix24Config) -> dealbridge_bitrix24::Bitrix24Settings {
    let mut settings = dealbridge_bitrix24::Bitrix24Settings::new();
    settings.paid_amount_field = b.paid_amount_field.clone();
    settings.paid_date_field = b.paid_date_field.clone();
    settings.requisite_preset_id = b.requisite_preset_id;
    if let Some((iblock_id, price_type_id)) = b.catalog_api {
        settings.catalog_api = dealbridge_bitrix24::CatalogApi::Catalog {
            iblock_id,
            price_type_id,
        };
    }
    settings
}

/// The state-database key of a Bitrix24 app's newest OAuth token pair.
pub fn oauth_cursor(system: &str) -> String {
    format!("oauth:{system}")
}

/// The Bitrix24 client for `[systems.<name>]`: webhook auth, or OAuth with the newest token
/// pair (Bitrix24 rotates the refresh token on every refresh, so the pair the config holds is
/// only the first; each new pair is saved in the state database as soon as it is issued).
pub(crate) async fn bitrix24_client(
    store: &Store,
    name: &str,
    b: &crate::config::Bitrix24Config,
    limits: ClientLimits,
    timeouts: dealbridge_sdk::http::Timeouts,
) -> anyhow::Result<Bitrix24Client> {
    use crate::config::Bitrix24Auth;
    use dealbridge_bitrix24::{OAuthConfig, OAuthTokens};
    match &b.auth {
        Bitrix24Auth::Webhook(url) => Ok(Bitrix24Client::new(url.expose(), limits, timeouts)?),
        Bitrix24Auth::OAuth(oauth) => {
            let crate::config::Bitrix24OAuth {
                portal_url,
                client_id,
                client_secret,
                access_token,
                refresh_token,
                token_url,
            } = oauth.as_ref();
            let saved = store
                .cursor(&oauth_cursor(name))
                .await?
                .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
                .and_then(|v| {
                    Some(OAuthTokens {
                        access_token: v["access_token"].as_str()?.to_string(),
                        refresh_token: v["refresh_token"].as_str()?.to_string(),
                    })
                });
            let tokens = saved.unwrap_or_else(|| OAuthTokens {
                access_token: access_token.expose().to_string(),
                refresh_token: refresh_token.expose().to_string(),
            });
            let saver = store.clone();
            let key = oauth_cursor(name);
            let listener: dealbridge_bitrix24::TokenListener = Arc::new(move |t: &OAuthTokens| {
                let value = serde_json::json!({
                    "access_token": t.access_token,
                    "refresh_token": t.refresh_token,
                })
                .to_string();
                let (store, key) = (saver.clone(), key.clone());
                tokio::spawn(async move {
                    if let Err(e) = store.set_cursor(&key, &value).await {
                        tracing::error!(error = %e, "cannot save the refreshed Bitrix24 tokens; the next start uses the older pair");
                    }
                });
            });
            Ok(Bitrix24Client::new_oauth(
                portal_url.as_str(),
                OAuthConfig {
                    client_id: client_id.clone(),
                    client_secret: client_secret.expose().to_string(),
                    token_url: token_url.to_string(),
                },
                tokens,
                limits,
                timeouts,
            )?
            .with_token_listener(listener))
        }
    }
}

/// Saves each amoCRM token pair in the state database as soon as it is issued.
struct StoreTokenSink {
    store: Store,
    key: String,
}

#[async_trait::async_trait]
impl dealbridge_amocrm::TokenSink for StoreTokenSink {
    async fn persist(
        &self,
        tokens: &dealbridge_amocrm::OAuthTokens,
    ) -> Result<(), dealbridge_sdk::ConnectorError> {
        let value = serde_json::json!({
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
        })
        .to_string();
        self.store.set_cursor(&self.key, &value).await.map_err(|e| {
            dealbridge_sdk::ConnectorError::new(
                dealbridge_sdk::ErrorKind::Transient,
                "store",
                format!("cannot save the refreshed amoCRM tokens: {e}"),
            )
        })
    }
}

/// The amoCRM client for `[systems.<name>]`: a long-lived token, or OAuth2 with the newest pair
/// (amoCRM replaces the refresh token on every refresh; the newest is kept in the database).
pub(crate) async fn amo_client(
    store: &Store,
    name: &str,
    a: &crate::config::AmoCrmConfig,
    limits: dealbridge_amocrm::ClientLimits,
    timeouts: dealbridge_sdk::http::Timeouts,
) -> anyhow::Result<AmoClient> {
    let Some(oauth) = &a.oauth else {
        return Ok(
            AmoClient::new(a.base_url.as_str(), a.token.expose(), limits, timeouts)?
                .with_config_name(name.to_string()),
        );
    };
    let saved = store
        .cursor(&oauth_cursor(name))
        .await?
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok());
    let saved_str = |k: &str| {
        saved
            .as_ref()
            .and_then(|v| v[k].as_str())
            .map(str::to_string)
    };
    let access = saved_str("access_token").unwrap_or_else(|| a.token.expose().to_string());
    let refresh =
        saved_str("refresh_token").unwrap_or_else(|| oauth.refresh_token.expose().to_string());
    let sink: Arc<dyn dealbridge_amocrm::TokenSink> = Arc::new(StoreTokenSink {
        store: store.clone(),
        key: oauth_cursor(name),
    });
    Ok(
        AmoClient::new(a.base_url.as_str(), &access, limits, timeouts)?
            .with_config_name(name.to_string())
            .with_oauth(
                dealbridge_amocrm::OAuthSettings {
                    client_id: oauth.client_id.clone(),
                    client_secret: oauth.client_secret.expose().to_string(),
                    redirect_uri: oauth.redirect_uri.clone(),
                    refresh_token: refresh,
                },
                Some(sink),
            ),
    )
}

//! Wiring: config → store, connector capabilities, flows and the engine.
//!
//! Every `[systems.<name>]` is built by its kind's connector (see [`crate::connectors`]) into
//! [`Capabilities`]; flows, two-way pairs and catalogs are then put together from those
//! capabilities alone, so nothing here knows a vendor.

use crate::config::{is_store, CatalogConfig, Config, Entity, FlowConfig};
use crate::sync::catalog::CatalogFlow;
use crate::sync::engine::{Engine, EngineSettings, Tally};
use crate::sync::live_mapping::LiveMapping;
use crate::sync::poll::OrderFlow;
use crate::sync::pull::DealPullFlow;
use crate::sync::reconcile::Reconciler;
use crate::sync::schedule::ScheduledJob;
use crate::sync::worker::{Executor, FlowTarget, TwoWay};
use anyhow::Context;
use dealbridge_sdk::connector::{BuildContext, Capabilities, SavedState};
use dealbridge_sdk::{ConnectorError, ErrorKind};
use dealbridge_store::{BackoffPolicy, Store};
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

/// The state-database key under which a system's newest OAuth token pair is kept (the
/// connectors that rotate tokens save them there through [`SavedState`]).
pub fn oauth_cursor(system: &str) -> String {
    dealbridge_sdk::connector::oauth_key(system)
}

/// [`SavedState`] over the state database's cursors table.
pub struct StoreState(pub Store);

#[async_trait::async_trait]
impl SavedState for StoreState {
    async fn load(&self, key: &str) -> Result<Option<String>, ConnectorError> {
        self.0.cursor(key).await.map_err(|e| state_error(key, e))
    }

    async fn save(&self, key: &str, value: &str) -> Result<(), ConnectorError> {
        self.0
            .set_cursor(key, value)
            .await
            .map_err(|e| state_error(key, e))
    }
}

fn state_error(key: &str, e: dealbridge_store::StoreError) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::Transient,
        "store",
        format!("cannot read or save `{key}` in the state database: {e}"),
    )
}

/// The order statuses 1C's `mode=info` lists: those of the first store in the config.
pub fn info_statuses(config: &Config) -> Vec<(String, String)> {
    config
        .systems
        .values()
        .find_map(|s| s.kind().connector().order_statuses())
        .map(|vocab| crate::onec::exchange::info_statuses(&vocab.all()))
        .unwrap_or_default()
}

/// How 1C imports (`import-1c` and the exchange endpoint) check and deactivate: the quality
/// report checks against the price types and warehouses the 1C `[[catalog]]` mappings name, and
/// `[exchange_1c] max_deactivate_share` bounds deactivation (its default without the section).
pub fn onec_import_options(config: &Config) -> crate::onec::ImportOptions {
    let mut rules = crate::onec::QualityRules::default();
    for c in config.catalogs.iter().filter(|c| c.from.is_none()) {
        let m = &c.mapping;
        if !m.price_type.is_empty() && !rules.price_types.contains(&m.price_type) {
            rules.price_types.push(m.price_type.clone());
        }
        for w in &m.warehouses {
            if !rules.warehouses.contains(w) {
                rules.warehouses.push(w.clone());
            }
        }
    }
    let mut options = crate::onec::ImportOptions {
        rules,
        ..Default::default()
    };
    if let Some(x) = &config.exchange_1c {
        options.max_deactivate_share = x.max_deactivate_share;
    }
    options
}

/// The payment method names 1C gets, per store system: the `[payment_methods]` of the first flow
/// from it that names any.
pub fn payment_methods(config: &Config) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut methods = BTreeMap::new();
    for flow in config
        .flows
        .iter()
        .filter(|f| !f.mapping.payment_methods.is_empty())
    {
        methods
            .entry(flow.from.clone())
            .or_insert_with(|| flow.mapping.payment_methods.clone());
    }
    methods
}

/// Where the 1C exchange hands the payments it reads: the engine's payments jobs, with the
/// configured attempts.
pub fn payments_queue(app: &App) -> Arc<dyn crate::onec::PaymentsQueue> {
    Arc::new(crate::sync::payments::PaymentsJobs::new(
        app.store.clone(),
        app.config.sync.max_attempts,
    ))
}

/// Builds every configured system through its connector.
pub async fn build_systems(
    config: &Config,
    store: &Store,
) -> anyhow::Result<BTreeMap<String, Capabilities>> {
    let state: Arc<dyn SavedState> = Arc::new(StoreState(store.clone()));
    let mut built = BTreeMap::new();
    for (name, system) in &config.systems {
        let kind = system.kind();
        let ctx = BuildContext {
            name,
            settings: system.settings(),
            limits: system.limits(),
            state: state.clone(),
            deal_pipeline: config
                .flows
                .iter()
                .find(|f| &f.to == name)
                .and_then(|f| f.mapping.deal.pipeline)
                .map(u64::from),
        };
        let caps = kind.connector().build(ctx).await.with_context(|| {
            format!(
                "systems.{name}: cannot build the {} client",
                kind.connector().display_name()
            )
        })?;
        built.insert(name.clone(), caps);
    }
    Ok(built)
}

/// The capability `pick` of system `name`, or an error naming what `what` needed.
fn capability<T: ?Sized>(
    systems: &BTreeMap<String, Capabilities>,
    name: &str,
    pick: impl Fn(&Capabilities) -> Option<Arc<T>>,
    what: impl FnOnce() -> String,
) -> anyhow::Result<Arc<T>> {
    systems.get(name).and_then(pick).with_context(what)
}

/// Whether `flow` is the CRM → store direction of a two-way pair.
fn is_reverse(config: &Config, flow: &FlowConfig) -> bool {
    config
        .systems
        .get(&flow.from)
        .is_some_and(|s| !is_store(s.kind()))
}

/// Each flow's target, by flow name.
type Targets = BTreeMap<String, FlowTarget>;

/// The store → CRM flows and the targets their jobs are written to.
fn order_flows(
    config: &Config,
    systems: &BTreeMap<String, Capabilities>,
) -> anyhow::Result<(Vec<Arc<OrderFlow>>, Targets)> {
    let sync = &config.sync;
    let mut flows = Vec::new();
    let mut targets = BTreeMap::new();
    for flow in config.flows.iter().filter(|f| !is_reverse(config, f)) {
        // `check` guarantees the pair is supported; these lookups name the gap if not.
        let source = capability(
            systems,
            &flow.from,
            |c| c.order_source.clone(),
            || {
                format!(
                    "flow {}: `{}` cannot be read as an order source",
                    flow.name, flow.from
                )
            },
        )?;
        capability(
            systems,
            &flow.to,
            |c| c.crm_deals.clone(),
            || format!("flow {}: `{}` cannot take deals", flow.name, flow.to),
        )?;
        flows.push(Arc::new(OrderFlow {
            name: flow.name.clone(),
            source_system: flow.from.clone(),
            target_system: flow.to.clone(),
            source,
            page_size: sync.page_size,
            overlap: sync.overlap,
            max_attempts: sync.max_attempts,
        }));
        targets.insert(
            flow.name.clone(),
            FlowTarget {
                source_system: flow.from.clone(),
                target_system: flow.to.clone(),
                planner: Arc::new(LiveMapping::new(
                    flow.mapping.clone(),
                    config.systems[&flow.from].kind(),
                    config.systems[&flow.to].kind(),
                )),
                payments: flow.entities.contains(&Entity::Payment),
                two_way: None,
                link_products: config.catalogs.iter().any(|c| c.to == flow.to),
            },
        );
    }
    Ok((flows, targets))
}

/// CRM → store flows: each turns its forward flow's target into a two-way pair and polls deals.
fn pull_flows(
    config: &Config,
    systems: &BTreeMap<String, Capabilities>,
    targets: &mut BTreeMap<String, FlowTarget>,
) -> anyhow::Result<Vec<Arc<DealPullFlow>>> {
    let sync = &config.sync;
    let mut pulls = Vec::new();
    for flow in config.flows.iter().filter(|f| is_reverse(config, f)) {
        let (forward_name, target) = targets
            .iter_mut()
            .find(|(_, t)| t.source_system == flow.to && t.target_system == flow.from)
            .with_context(|| {
                format!(
                    "flow {}: no flow carries orders from `{}` to `{}` to pair with",
                    flow.name, flow.to, flow.from
                )
            })?;
        let reader = capability(
            systems,
            &flow.from,
            |c| c.crm_reader.clone(),
            || {
                format!(
                    "flow {}: deals of `{}` cannot be read back by this build",
                    flow.name, flow.from
                )
            },
        )?;
        let sink = capability(
            systems,
            &flow.to,
            |c| c.order_sink.clone(),
            || {
                format!(
                    "flow {}: orders of `{}` cannot be written by this build",
                    flow.name, flow.to
                )
            },
        )?;
        let source = capability(
            systems,
            &flow.to,
            |c| c.order_source.clone(),
            || format!("flow {}: `{}` is not a store", flow.name, flow.to),
        )?;
        target.two_way = Some(TwoWay {
            mapping: Arc::new(flow.mapping.clone()),
            reader: reader.clone(),
            sink,
            source,
        });
        pulls.push(Arc::new(DealPullFlow {
            name: flow.name.clone(),
            forward: forward_name.clone(),
            crm_system: flow.from.clone(),
            store_system: flow.to.clone(),
            reader,
            page_size: sync.page_size,
            overlap: sync.overlap,
            max_attempts: sync.max_attempts,
        }));
    }
    Ok(pulls)
}

/// One `[[catalog]]`: from 1C or a store's own catalog, to a CRM's catalog or a store's prices.
fn catalog_flow(
    c: &CatalogConfig,
    systems: &BTreeMap<String, Capabilities>,
) -> anyhow::Result<CatalogFlow> {
    let flow = match &c.from {
        None => CatalogFlow::new(&c.name, crate::onec::exchange::SYSTEM_1C, c.mapping.clone()),
        Some(shop) => {
            let source = capability(
                systems,
                shop,
                |s| s.catalog_source.clone(),
                || format!("catalog {}: `{shop}` has no readable catalog", c.name),
            )?;
            CatalogFlow::from_store(&c.name, shop, source)
        }
    };
    let to = systems.get(&c.to);
    if let Some(crm) = to.and_then(|s| s.crm_catalog.clone()) {
        Ok(flow.with_crm(&c.to, crm))
    } else if let Some(shop) = to.and_then(|s| s.price_push.clone()) {
        Ok(flow.with_store(&c.to, shop))
    } else {
        anyhow::bail!(
            "catalog {}: `{}` takes no catalog in this build",
            c.name,
            c.to
        )
    }
}

/// The executor: the flows' targets plus every system's deal, payment and order capabilities.
fn executor(
    config: &Config,
    store: &Store,
    systems: &BTreeMap<String, Capabilities>,
    targets: BTreeMap<String, FlowTarget>,
) -> Executor {
    let sync = &config.sync;
    let queue = store.queue().with_backoff(BackoffPolicy {
        base: sync.backoff_base,
        max: sync.backoff_max,
        ..BackoffPolicy::default()
    });
    let crms = systems
        .iter()
        .filter_map(|(n, c)| Some((n.clone(), c.crm_deals.clone()?)))
        .collect();
    let mut executor = Executor::new(store.clone(), queue, crms, targets);
    executor.payments = systems
        .iter()
        .filter_map(|(n, c)| Some((n.clone(), c.crm_payments.clone()?)))
        .collect();
    executor.payment_sources = systems
        .iter()
        .filter_map(|(n, c)| Some((n.clone(), c.payment_source.clone()?)))
        .collect();
    executor.sinks = systems
        .iter()
        .filter_map(|(n, c)| Some((n.clone(), c.order_sink.clone()?)))
        .collect();
    executor.sources = systems
        .iter()
        .filter_map(|(n, c)| Some((n.clone(), c.order_source.clone()?)))
        .collect();
    executor.readers = systems
        .iter()
        .filter_map(|(n, c)| Some((n.clone(), c.crm_reader.clone()?)))
        .collect();
    executor.max_attempts = sync.max_attempts;
    executor
}

impl App {
    /// Loads the config at `path` and builds everything it describes.
    pub async fn load(path: &Path) -> anyhow::Result<App> {
        // Before any client is built: what they count from here on reaches `/metrics`.
        crate::metrics::recorder();
        let config = load_config(path)?;
        let store = connect(&config).await?;
        let systems = build_systems(&config, &store).await?;
        let (flows, mut targets) = order_flows(&config, &systems)?;
        let pulls = pull_flows(&config, &systems, &mut targets)?;
        let catalogs = config
            .catalogs
            .iter()
            .map(|c| catalog_flow(c, &systems).map(Arc::new))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut executor = executor(&config, &store, &systems, targets);
        executor.alerts = match &config.alerts {
            Some(a) => Some(Arc::new(
                crate::alerts::notify::Notifier::new(a).context("[alerts]")?,
            )),
            None => None,
        };
        let executor = Arc::new(executor);
        let schedules = config
            .schedules
            .iter()
            .map(|s| {
                let covered: Vec<_> = flows
                    .iter()
                    .filter(|f| s.covers(&f.name))
                    .cloned()
                    .collect();
                Arc::new(ScheduledJob {
                    reconciler: s.reconcile.map(|_| Reconciler {
                        store: store.clone(),
                        executor: executor.clone(),
                        flows: covered.clone(),
                        pulls: pulls.clone(),
                        catalogs: catalogs
                            .iter()
                            .filter(|c| s.covers(&c.name))
                            .cloned()
                            .collect(),
                    }),
                    config: s.clone(),
                    flows: covered,
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
        let health: Arc<crate::sync::supervisor::Health> = Arc::default();
        let alerts = config.alerts.is_some().then(|| {
            Arc::new(crate::alerts::evaluator::Evaluator::new(
                store.clone(),
                Arc::new(config.clone()),
                health.clone(),
            ))
        });
        let sync = &config.sync;
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
                unhealthy_after: sync.unhealthy_after,
                ..EngineSettings::default()
            },
            tally: Arc::new(Tally::default()),
            inbox_wake: Arc::new(tokio::sync::Notify::new()),
            catalog_wake: Arc::new(tokio::sync::Notify::new()),
            health,
            alerts,
        };
        Ok(App {
            listen: config.server.listen,
            config,
            store,
            engine,
        })
    }
}

//! Alerts (`[alerts]`) end to end: the engine's `alerts` loop over a real SQLite file, the
//! WooCommerce and Bitrix24 emulators over loopback HTTP, and a real HTTP receiver for the
//! notifications; plus `[alerts]`'s config diagnostics.

use crate::common;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Json;
use common::{spawn_world, wait_until, Tuning, World};
use dealbridge::app::App;
use dealbridge::config::{AlertFormat, Config, Diagnostic, NoEnv};
use dealbridge::sync::SyncError;
use dealbridge_sdk::http::Timeouts;
use dealbridge_store::{JobFilter, JobKind, JobState, Store};
use dealbridge_woocommerce::{NewOrder, WooClient};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------------------------------------
// The receiver: records every POST and answers with the status it is told.

#[derive(Clone, Default)]
struct Inbox {
    status: Arc<AtomicU16>,
    got: Arc<Mutex<Vec<(u16, Value)>>>,
}

async fn hook(State(inbox): State<Inbox>, Json(body): Json<Value>) -> StatusCode {
    let status = inbox.status.load(Ordering::SeqCst);
    inbox.got.lock().unwrap().push((status, body));
    StatusCode::from_u16(status).unwrap()
}

struct Receiver {
    url: String,
    inbox: Inbox,
}

impl Receiver {
    async fn start(status: u16) -> Receiver {
        let inbox = Inbox::default();
        inbox.status.store(status, Ordering::SeqCst);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/hook", post(hook))
            .with_state(inbox.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, inbox }
    }

    fn answer(&self, status: u16) {
        self.inbox.status.store(status, Ordering::SeqCst);
    }

    /// Every request so far.
    fn requests(&self) -> usize {
        self.inbox.got.lock().unwrap().len()
    }

    /// The bodies it accepted (answered 2xx).
    fn accepted(&self) -> Vec<Value> {
        self.inbox
            .got
            .lock()
            .unwrap()
            .iter()
            .filter(|(s, _)| (200..300).contains(s))
            .map(|(_, b)| b.clone())
            .collect()
    }

    fn accepted_in(&self, state: &str) -> Vec<Value> {
        self.accepted()
            .into_iter()
            .filter(|b| b["state"] == state)
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The engine under test.

/// A world whose mapping sends completed orders to a stage the CRM does not have (so their
/// jobs go dead), with fast polls, retries and alert checks, and `[alerts]` posting to `url`.
async fn world_alerting_to(url: &str, extra: &str) -> World {
    let world = spawn_world(Tuning {
        sync: "poll_interval = \"200ms\"\nbackoff_base = \"50ms\"\nbackoff_max = \"200ms\"",
        ..Tuning::default()
    })
    .await;
    world.edit_file(
        "mappings/woocommerce-bitrix24.toml",
        "completed = \"WON\"",
        "completed = \"NO_SUCH_STAGE\"",
    );
    let path = &world.config;
    let mut text = std::fs::read_to_string(path).unwrap();
    // Stale polls are looked at only by the test that wants them.
    let stale = if extra.contains("poll_stale_after") {
        ""
    } else {
        "poll_stale_after = \"off\"\n"
    };
    text.push_str(&format!(
        "[alerts]\nwebhook_url = \"{url}\"\ncheck_every = \"100ms\"\n{stale}{extra}\n"
    ));
    std::fs::write(path, text).unwrap();
    world
}

async fn create_order(world: &World, status: &str) {
    let shop = WooClient::new(
        &world.shop.base_url,
        "ck_test",
        "cs_test",
        Timeouts::default(),
    )
    .unwrap();
    let order: NewOrder = serde_json::from_value(json!({
        "status": status,
        "billing": {"first_name": "Ann", "email": "ann@example.com"},
        "line_items": [{"name": "Tea", "sku": "T", "quantity": 1, "subtotal": "10.00", "total": "10.00"}]
    }))
    .unwrap();
    shop.create_order(&order).await.unwrap();
}

/// `dealbridge run`'s engine, in-process.
struct Running {
    store: Store,
    stop: CancellationToken,
    engine: JoinHandle<Result<(), SyncError>>,
}

impl Running {
    async fn start(world: &World) -> Running {
        let app = App::load(&world.config).await.unwrap();
        let stop = CancellationToken::new();
        let store = app.store.clone();
        let engine = tokio::spawn(Arc::new(app.engine).run(stop.clone()));
        Running {
            store,
            stop,
            engine,
        }
    }

    async fn stop(self) {
        self.stop.cancel();
        self.engine.await.unwrap().unwrap();
        self.store.close().await;
    }

    async fn jobs(&self, kind: Option<JobKind>, state: JobState) -> Vec<dealbridge_store::Job> {
        self.jobs_in(kind, &[state]).await
    }

    async fn jobs_in(
        &self,
        kind: Option<JobKind>,
        states: &[JobState],
    ) -> Vec<dealbridge_store::Job> {
        self.store
            .queue()
            .list(&JobFilter {
                states: states.to_vec(),
                kind,
                limit: 1000,
                ..JobFilter::default()
            })
            .await
            .unwrap()
    }
}

/// Waits until `receiver` accepted `n` notifications in `state`.
async fn wait_accepted(receiver: &Receiver, state: &str, n: usize, timeout: Duration) {
    wait_until(
        &format!("{n} {state} alert(s) accepted"),
        timeout,
        || async { receiver.accepted_in(state).len() >= n },
    )
    .await;
}

/// Lets the evaluator run many more passes (check_every is 100 ms).
async fn a_while() {
    tokio::time::sleep(Duration::from_millis(1500)).await;
}

// ---------------------------------------------------------------------------------------------
// Once per incident, once when it clears, across a restart.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_job_fires_once_survives_a_restart_and_clears_once_after_the_retry() {
    let receiver = Receiver::start(200).await;
    let world = world_alerting_to(&receiver.url, "").await;
    create_order(&world, "processing").await;
    create_order(&world, "completed").await;

    let run = Running::start(&world).await;
    wait_accepted(&receiver, "firing", 1, Duration::from_secs(20)).await;
    let dead = run.jobs(Some(JobKind::DealUpsert), JobState::Dead).await;
    assert_eq!(
        dead.len(),
        1,
        "the completed order's job is dead: {dead:#?}"
    );
    // A second dead job of the same flow is the same incident.
    create_order(&world, "completed").await;
    wait_until("the second job dead", Duration::from_secs(20), || async {
        run.jobs(Some(JobKind::DealUpsert), JobState::Dead)
            .await
            .len()
            == 2
    })
    .await;
    a_while().await;

    let firing = receiver.accepted_in("firing");
    assert_eq!(firing.len(), 1, "exactly one firing alert: {firing:#?}");
    let alert = &firing[0];
    assert_eq!(alert["alert"], "job_dead");
    assert_eq!(alert["key"], "job_dead:flow=orders");
    assert_eq!(alert["details"]["flow"], "orders");
    let error = alert["details"]["error"].as_str().unwrap();
    assert!(
        error.contains("NO_SUCH_STAGE"),
        "the vendor's error: {error}"
    );
    assert!(
        alert["summary"].as_str().unwrap().contains("NO_SUCH_STAGE"),
        "{alert:#}"
    );
    for key in ["since", "at"] {
        assert!(
            alert[key].as_str().is_some_and(|t| t.ends_with('Z')),
            "{alert:#}"
        );
    }
    assert!(receiver.accepted_in("resolved").is_empty());
    run.stop().await;

    // Restart over the same SQLite file with the mapping fixed: the incident is still open,
    // so nothing is sent again.
    world.edit_file(
        "mappings/woocommerce-bitrix24.toml",
        "completed = \"NO_SUCH_STAGE\"",
        "completed = \"WON\"",
    );
    let run = Running::start(&world).await;
    a_while().await;
    assert_eq!(receiver.accepted().len(), 1, "{:#?}", receiver.accepted());

    // Retry the dead jobs: they run with the fixed mapping, the dead letter empties, and the
    // incident clears, once.
    for job in run.jobs(Some(JobKind::DealUpsert), JobState::Dead).await {
        assert!(run.store.queue().retry(job.id).await.unwrap());
    }
    wait_accepted(&receiver, "resolved", 1, Duration::from_secs(20)).await;
    a_while().await;
    let resolved = receiver.accepted_in("resolved");
    assert_eq!(resolved.len(), 1, "exactly one clear: {resolved:#?}");
    assert_eq!(resolved[0]["key"], "job_dead:flow=orders");
    assert_eq!(resolved[0]["since"], alert["since"]);
    assert_eq!(receiver.accepted_in("firing").len(), 1);
    assert_eq!(world.deal_origins().0, 3, "every order is a deal now");
    assert!(run.store.open_incidents().await.unwrap().is_empty());
    run.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Durable delivery.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_answering_500_gets_the_alert_once_it_answers_200() {
    let receiver = Receiver::start(500).await;
    let world = world_alerting_to(&receiver.url, "").await;
    create_order(&world, "completed").await;
    let run = Running::start(&world).await;
    wait_until(
        "three refused deliveries",
        Duration::from_secs(20),
        || async { receiver.requests() >= 3 },
    )
    .await;
    assert!(receiver.accepted().is_empty());
    // Pending between tries, running during one.
    let pending = run
        .jobs_in(
            Some(JobKind::Alert),
            &[JobState::Pending, JobState::Running],
        )
        .await;
    assert_eq!(pending.len(), 1, "the notification waits to be retried");
    assert_eq!(pending[0].last_error_kind.as_deref(), Some("transient"));
    assert!(
        pending[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("HTTP 500"),
        "{pending:#?}"
    );
    assert!(
        !pending[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains(&receiver.url),
        "the URL (it may carry a token) is not in the error"
    );

    receiver.answer(200);
    wait_accepted(&receiver, "firing", 1, Duration::from_secs(20)).await;
    a_while().await;
    let firing = receiver.accepted_in("firing");
    assert_eq!(firing.len(), 1, "delivered once, not doubled: {firing:#?}");
    assert_eq!(firing[0]["key"], "job_dead:flow=orders");
    let done = run.jobs(Some(JobKind::Alert), JobState::Done).await;
    assert_eq!(done.len(), 1);
    assert!(done[0].attempts >= 3, "{done:#?}");
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undeliverable_alert_goes_dead_without_raising_another() {
    // 404: the URL is wrong; a permanent failure, dead at once.
    let receiver = Receiver::start(404).await;
    let world = world_alerting_to(&receiver.url, "format = \"slack\"").await;
    create_order(&world, "completed").await;
    let run = Running::start(&world).await;
    wait_until("the alert job dead", Duration::from_secs(20), || async {
        !run.jobs(Some(JobKind::Alert), JobState::Dead)
            .await
            .is_empty()
    })
    .await;
    a_while().await;
    let incidents = run.store.open_incidents().await.unwrap();
    let keys: Vec<&str> = incidents.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(
        keys,
        ["job_dead:flow=orders"],
        "no incident about the alert job"
    );
    assert_eq!(
        run.jobs(Some(JobKind::Alert), JobState::Dead).await.len(),
        1
    );
    assert!(run
        .jobs(Some(JobKind::Alert), JobState::Pending)
        .await
        .is_empty());
    assert_eq!(receiver.requests(), 1, "a 404 is not retried");
    let body = receiver.inbox.got.lock().unwrap()[0].1.clone();
    let text = body["text"].as_str().unwrap();
    assert!(
        text.starts_with("[dealbridge] FIRING job_dead:flow=orders\n"),
        "{body:#}"
    );
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_on_one_postgres_database_send_one_alert() {
    const PG_ENV: &str = "DEALBRIDGE_TEST_POSTGRES_URL";
    let Ok(admin_url) = std::env::var(PG_ENV) else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (no {PG_ENV}): two_engines_on_one_postgres_database_send_one_alert"
        );
        return;
    };
    use sqlx::Connection;
    let db_name = format!("dealbridge_alerts_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db_name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&db_name);

    let receiver = Receiver::start(200).await;
    let world = world_alerting_to(&receiver.url, "").await;
    world.edit_file("dealbridge.toml", "sqlite://dealbridge.db", url.as_str());
    create_order(&world, "completed").await;
    let one = Running::start(&world).await;
    let two = Running::start(&world).await;
    wait_accepted(&receiver, "firing", 1, Duration::from_secs(20)).await;
    a_while().await;
    assert_eq!(receiver.accepted().len(), 1, "{:#?}", receiver.accepted());
    assert_eq!(one.store.incidents(10).await.unwrap().len(), 1);
    one.stop().await;
    two.stop().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}

// ---------------------------------------------------------------------------------------------
// The other rules, from what the engine really records.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_store_key_raises_auth_failed_and_a_stale_poll_and_both_clear_after_the_fix() {
    let receiver = Receiver::start(200).await;
    let world = world_alerting_to(&receiver.url, "poll_stale_after = \"1s\"").await;
    world.edit_file(
        "dealbridge.toml",
        "consumer_key = \"ck_test\"",
        "consumer_key = \"ck_revoked\"",
    );
    let run = Running::start(&world).await;
    wait_accepted(&receiver, "firing", 2, Duration::from_secs(20)).await;
    a_while().await;
    let mut firing = receiver.accepted_in("firing");
    firing.sort_by_key(|b| b["key"].as_str().unwrap().to_string());
    let keys: Vec<&str> = firing.iter().map(|b| b["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["auth_failed:system=shop", "poll_stale:flow=orders"]);
    let auth = &firing[0];
    assert_eq!(
        auth["details"]["seen_in"],
        json!(["the poll of flow orders"])
    );
    assert!(
        auth["summary"].as_str().unwrap().contains("[systems.shop]"),
        "{auth:#}"
    );
    assert!(
        firing[1]["summary"]
            .as_str()
            .unwrap()
            .contains("has not polled successfully"),
        "{:#}",
        firing[1]
    );
    run.stop().await;

    world.edit_file(
        "dealbridge.toml",
        "consumer_key = \"ck_revoked\"",
        "consumer_key = \"ck_test\"",
    );
    let run = Running::start(&world).await;
    wait_accepted(&receiver, "resolved", 2, Duration::from_secs(20)).await;
    a_while().await;
    assert_eq!(receiver.accepted_in("resolved").len(), 2);
    assert_eq!(
        receiver.accepted_in("firing").len(),
        2,
        "nothing fired again"
    );
    run.stop().await;
}

/// A CommerceML catalog with one product.
fn catalog_file(dir: &Path, name: &str) -> std::path::PathBuf {
    let x = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация xmlns=\"urn:1C.ru:commerceml_2\" ВерсияСхемы=\"2.08\" ДатаФормирования=\"2026-03-01T10:00:00\"><Каталог СодержитТолькоИзменения=\"false\"><Ид>cat</Ид><Наименование>Каталог</Наименование><Товары><Товар><Ид>a-1</Ид><Артикул>A1</Артикул><Наименование>Чай</Наименование></Товар></Товары></Каталог></КоммерческаяИнформация>";
    let path = dir.join(name);
    std::fs::write(&path, x).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_1c_import_fires_once_and_the_next_good_import_clears_it() {
    use dealbridge::alerts::exchange::JournaledImporter;
    use dealbridge::onec::endpoint::{ExchangeImporter, ImportedFile};
    use dealbridge::onec::exchange::StoreImporter;
    use dealbridge_commerceml::ExchangeType;

    let receiver = Receiver::start(200).await;
    let world = world_alerting_to(&receiver.url, "").await;
    let app = App::load(&world.config).await.unwrap();
    let importer = JournaledImporter::new(
        Arc::new(StoreImporter::new(
            app.store.clone(),
            dealbridge::app::payments_queue(&app),
        )),
        app.store.clone(),
    );
    let evaluator = app.engine.alerts.clone().expect("[alerts] is configured");
    let alert_jobs = || async {
        app.store
            .queue()
            .list(&JobFilter {
                kind: Some(JobKind::Alert),
                limit: 100,
                ..JobFilter::default()
            })
            .await
            .unwrap()
    };

    let bad = world.dir.path().join("import.xml");
    std::fs::write(&bad, "this is not CommerceML").unwrap();
    // As the endpoint does: import the file, then report it for the record.
    fn imported<'a>(result: Result<&'a str, &'a str>) -> ImportedFile<'a> {
        ImportedFile {
            exchange_type: ExchangeType::Catalog,
            exchange: "sess-1",
            name: "import.xml",
            result,
            took: std::time::Duration::from_millis(5),
        }
    }
    let reason = importer
        .import_file(ExchangeType::Catalog, &bad)
        .await
        .unwrap_err();
    importer.file_imported(&imported(Err(&reason))).await;
    let pass = evaluator.pass().await.unwrap();
    assert_eq!((pass.opened, pass.resolved), (1, 0));
    assert_eq!(
        evaluator.pass().await.unwrap().opened,
        0,
        "once per incident"
    );
    let jobs = alert_jobs().await;
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    let n = &jobs[0].payload;
    assert_eq!(n["key"], "exchange_1c_failed:type=catalog");
    assert_eq!(n["state"], "firing");
    let error = n["details"]["error"].as_str().unwrap();
    assert!(error.starts_with("import of import.xml: "), "{error}");
    assert!(error.ends_with(&reason), "the reason 1C was given: {error}");

    let good = catalog_file(world.dir.path(), "import.xml");
    let summary = importer
        .import_file(ExchangeType::Catalog, &good)
        .await
        .unwrap();
    importer.file_imported(&imported(Ok(&summary))).await;
    let pass = evaluator.pass().await.unwrap();
    assert_eq!((pass.opened, pass.resolved), (0, 1));
    let states: Vec<Value> = alert_jobs()
        .await
        .iter()
        .map(|j| j.payload["state"].clone())
        .collect();
    assert_eq!(states.len(), 2);
    assert!(states.contains(&json!("resolved")));
    let journal = app
        .store
        .journal_for(dealbridge_store::EntityKind::Exchange1c, "catalog")
        .await
        .unwrap();
    let actions: Vec<&str> = journal.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["failed", "imported"]);
    app.store.close().await;
}

// ---------------------------------------------------------------------------------------------
// Config.

const BASE: &str = "[database]\nurl = \"sqlite://state.db\"\n";

fn load(text: &str, env: &dyn dealbridge::config::Env) -> Result<Config, Vec<Diagnostic>> {
    Config::from_str(text, Path::new("/etc/dealbridge/dealbridge.toml"), env).map_err(|e| e.0)
}

/// The single diagnostic of `text`, which must be on the line holding `needle`.
fn one_error(text: &str, needle: &str) -> Diagnostic {
    let errors = load(text, &NoEnv).expect_err("a mistake");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let line = text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert_eq!(errors[0].line, line, "{}", errors[0]);
    assert_eq!(
        errors[0].file,
        Path::new("/etc/dealbridge/dealbridge.toml"),
        "{}",
        errors[0]
    );
    errors.into_iter().next().unwrap()
}

#[test]
fn alerts_config_defaults_and_every_key() {
    let c = load(
        &format!("{BASE}[alerts]\nwebhook_url = \"https://hooks.example/x\"\n"),
        &NoEnv,
    )
    .unwrap();
    let a = c.alerts.unwrap();
    assert_eq!(a.webhook_url.expose(), "https://hooks.example/x");
    assert_eq!(a.format, AlertFormat::Json);
    assert_eq!(a.check_every, Duration::from_secs(30));
    assert_eq!(a.max_attempts, 30);
    assert!(a.rules.job_dead && a.rules.auth_failed && a.rules.exchange_1c_failed);
    assert_eq!(a.rules.poll_stale_after, Some(Duration::from_secs(900)));
    assert_eq!(
        a.rules.conflicts_waiting_after,
        Some(Duration::from_secs(3600))
    );
    assert!(
        load(BASE, &NoEnv).unwrap().alerts.is_none(),
        "off without the table"
    );

    let text = format!(
        "{BASE}[alerts]\nwebhook_url = \"env:TG_URL\"\nformat = \"telegram\"\nchat_id = -100123\n\
         check_every = \"10s\"\nmax_attempts = 5\njob_dead = false\npoll_stale_after = \"5m\"\n\
         auth_failed = false\nexchange_1c_failed = false\nconflicts_waiting_after = \"off\"\n"
    );
    let env: BTreeMap<String, String> = [(
        "TG_URL".to_string(),
        "https://api.telegram.org/bot1:x/sendMessage".to_string(),
    )]
    .into();
    let a = load(&text, &env).unwrap().alerts.unwrap();
    assert_eq!(
        a.webhook_url.expose(),
        "https://api.telegram.org/bot1:x/sendMessage"
    );
    assert_eq!(format!("{:?}", a.webhook_url), "***");
    assert_eq!(
        a.format,
        AlertFormat::Telegram {
            chat_id: json!(-100123)
        }
    );
    assert_eq!(
        (a.check_every, a.max_attempts),
        (Duration::from_secs(10), 5)
    );
    assert!(!a.rules.job_dead && !a.rules.auth_failed && !a.rules.exchange_1c_failed);
    assert_eq!(a.rules.poll_stale_after, Some(Duration::from_secs(300)));
    assert_eq!(a.rules.conflicts_waiting_after, None);

    // The override variable wins over the file.
    let env: BTreeMap<String, String> = [(
        "DEALBRIDGE_ALERTS_WEBHOOK_URL".to_string(),
        "https://hooks.slack.com/services/T/B/secret".to_string(),
    )]
    .into();
    let text =
        format!("{BASE}[alerts]\nwebhook_url = \"https://other.example/\"\nformat = \"slack\"\n");
    let a = load(&text, &env).unwrap().alerts.unwrap();
    assert_eq!(
        a.webhook_url.expose(),
        "https://hooks.slack.com/services/T/B/secret"
    );
    assert_eq!(a.format, AlertFormat::Slack);
}

#[test]
fn alerts_config_mistakes_name_their_line() {
    let text = format!("{BASE}[alerts]\nwebhook_url = \"ftp://hooks.example/bot123:SECRET\"\n");
    let e = one_error(&text, "webhook_url");
    assert!(e.message.contains("http or https"), "{e}");
    assert!(!e.message.contains("SECRET"), "the URL is not echoed: {e}");

    let text =
        format!("{BASE}[alerts]\nwebhook_url = \"https://h.example/\"\nformat = \"teams\"\n");
    let e = one_error(&text, "teams");
    assert!(
        e.message.contains("\"json\", \"slack\" or \"telegram\""),
        "{e}"
    );

    let text = format!(
        "{BASE}[alerts]\nwebhook_url = \"https://h.example/\"\npoll_stale_after = \"15 minutes\"\n"
    );
    let e = one_error(&text, "poll_stale_after");
    assert!(e.message.contains("poll_stale_after"), "{e}");

    let text = format!("{BASE}[alerts]\nwebhook_url = \"https://h.example/\"\ncheck_every = 30\n");
    one_error(&text, "check_every");

    let text =
        format!("{BASE}[alerts]\nwebhook_url = \"https://h.example/\"\nformat = \"telegram\"\n");
    let e = one_error(&text, "[alerts]");
    assert!(e.message.contains("chat_id"), "{e}");

    let text = format!("{BASE}[alerts]\nwebhook_url = \"https://h.example/\"\nchat_id = 5\n");
    let e = one_error(&text, "chat_id");
    assert!(e.message.contains("only for format = \"telegram\""), "{e}");

    let text =
        format!("{BASE}[alerts]\nwebhook_url = \"https://h.example/\"\njob_dead = \"yes\"\n");
    let e = one_error(&text, "job_dead");
    assert!(e.message.contains("true or false"), "{e}");

    let text = format!("{BASE}[alerts]\nwebhook_url = \"https://h.example/\"\njob_deadd = true\n");
    let e = one_error(&text, "job_deadd");
    assert!(e.message.contains("did you mean `job_dead`"), "{e}");

    let text = format!("{BASE}[alerts]\nformat = \"slack\"\n");
    let e = one_error(&text, "[alerts]");
    assert!(
        e.message.contains("webhook_url") && e.message.contains("DEALBRIDGE_ALERTS_WEBHOOK_URL"),
        "{e}"
    );

    let text = format!("{BASE}[alerts]\nwebhook_url = \"env:NOT_SET\"\n");
    let e = one_error(&text, "NOT_SET");
    assert!(e.message.contains("NOT_SET"), "{e}");
}

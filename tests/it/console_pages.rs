//! The console's Activity page (filtered by what, system and record, paged) and the Conflicts
//! page's "use this value" (JSON, as `conflicts resolve --value`), over HTTP.

use crate::cli::{console_login, console_page, csrf_of, serve_console};
use crate::common::{spawn_world, Tuning};
use dealbridge_store::{EntityKind, JournalEntry, NewConflict};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_is_filtered_and_paged_and_a_conflict_takes_a_written_value() {
    let world = spawn_world(Tuning::default()).await;
    let store = dealbridge::app::open_store(&world.config).await.unwrap();
    for i in 0..205 {
        let entity = format!("shop:{i}");
        store
            .journal(&JournalEntry {
                kind: EntityKind::Deal,
                entity_id: &entity,
                system: "crm",
                action: "created",
                external_id: None,
                job_id: None,
                detail: None,
            })
            .await
            .unwrap();
    }
    store
        .journal(&JournalEntry {
            kind: EntityKind::Schedule,
            entity_id: "nightly",
            system: "engine",
            action: "ran",
            external_id: None,
            job_id: None,
            detail: Some("for 2026-12-08T03:00:00Z"),
        })
        .await
        .unwrap();
    let base = serve_console(&world, "tok").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = console_login(&http, &base, "tok").await;

    let all = console_page(&http, &format!("{base}/activity"), &cookie).await;
    assert!(all.contains("<td>nightly</td>"), "newest first");
    assert_eq!(all.matches("<tr><td>").count(), 200, "a page of 200");
    let older = &all[all.find("/activity?what=").expect("a link to older rows")..];
    let href = older[..older.find('"').unwrap()].replace("&amp;", "&");
    let next = console_page(&http, &format!("{base}{href}"), &cookie).await;
    assert_eq!(next.matches("<tr><td>").count(), 6, "the rest");
    assert!(next.contains("<td>shop:0</td>") && !next.contains("nightly"));

    let one = console_page(
        &http,
        &format!("{base}/activity?what=deal&record=shop%3A17"),
        &cookie,
    )
    .await;
    assert!(one.contains("<td>shop:17</td>") && one.contains("<td>shop:170</td>"));
    assert!(!one.contains("<td>shop:18</td>") && !one.contains("nightly"));
    let by_system = console_page(&http, &format!("{base}/activity?system=engine"), &cookie).await;
    assert_eq!(by_system.matches("<tr><td>").count(), 1);
    let bad = http
        .get(format!("{base}/activity?what=nonsense"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    // A conflict decided with a value the operator writes.
    let (base_v, ours, theirs) = (json!("processing"), json!("completed"), json!("cancelled"));
    let id = store
        .record_conflict(&NewConflict {
            kind: EntityKind::Order,
            entity_id: "shop:7",
            field: "status",
            base: Some(&base_v),
            ours: &ours,
            theirs: &theirs,
            ours_system: "shop",
            theirs_system: "crm",
            rule: "manual",
            chosen: None,
            chosen_value: None,
            reason: "both changed the status",
        })
        .await
        .unwrap();
    let page = console_page(&http, &format!("{base}/conflicts"), &cookie).await;
    assert!(page.contains(&format!("/conflicts/{id}/value")), "{page}");
    let csrf = csrf_of(&page);
    let post = |value: &'static str, csrf: String| {
        let (http, cookie, base) = (http.clone(), cookie.clone(), base.clone());
        async move {
            http.post(format!("{base}/conflicts/{id}/value"))
                .header("cookie", cookie)
                .form(&[("csrf", csrf.as_str()), ("value", value)])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(post("\"WON", csrf.clone()).await, 400, "not JSON");
    assert_eq!(post("\"on-hold\"", "forged".into()).await, 403);
    assert!(
        store.conflict(id).await.unwrap().unwrap().chosen.is_none(),
        "nothing changed"
    );
    assert_eq!(post("\"on-hold\"", csrf.clone()).await, 303);
    let decided = store.conflict(id).await.unwrap().unwrap();
    assert_eq!(decided.chosen.as_deref(), Some("custom"));
    assert_eq!(decided.chosen_value, Some(json!("on-hold")));
    // A second click changes nothing more.
    assert_eq!(post("\"completed\"", csrf).await, 303);
    let again = store.conflict(id).await.unwrap().unwrap();
    assert_eq!(again.chosen_value, Some(json!("on-hold")));
    store.close().await;
}

/// The 1C page shows the latest import's quality findings and a held deactivation, and its
/// button applies it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_1c_page_shows_quality_findings_and_applies_a_held_deactivation() {
    use std::fmt::Write as _;
    let world = spawn_world(Tuning::default()).await;
    let catalog = |n: usize| {
        let mut x = String::from("\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация xmlns=\"urn:1C.ru:commerceml_2\" ВерсияСхемы=\"2.08\" ДатаФормирования=\"2026-03-01T10:00:00\"><Каталог СодержитТолькоИзменения=\"false\"><Ид>cat</Ид><Наименование>Каталог</Наименование><Товары>");
        for i in 0..n {
            // Every product has the same article: a finding.
            write!(x, "<Товар><Ид>p-{i}</Ид><Артикул>DUP</Артикул><Наименование>Товар {i}</Наименование><БазоваяЕдиница Код=\"796\">шт</БазоваяЕдиница></Товар>").unwrap();
        }
        x.push_str("</Товары></Каталог></КоммерческаяИнформация>");
        x
    };
    let file = world.dir.path().join("import.xml");
    std::fs::write(&file, catalog(10)).unwrap();
    let out = world.cli(&["import-1c", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Yesterday's 10, today's 5: half would go, more than the default 0.2 share.
    std::fs::write(&file, catalog(5)).unwrap();
    let out = world.cli(&["import-1c", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let base = serve_console(&world, "tok").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_eq!(
        http.get(format!("{base}/1c"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let cookie = console_login(&http, &base, "tok").await;
    let page = console_page(&http, &format!("{base}/1c"), &cookie).await;
    assert!(page.contains("duplicate_article"), "{page}");
    assert!(page.contains("import.xml (5 item(s))"), "{page}");
    assert!(page.contains("would deactivate 5 product(s)"), "{page}");
    let csrf = csrf_of(&page);
    let apply = |csrf: String| {
        let (http, cookie, base) = (http.clone(), cookie.clone(), base.clone());
        async move {
            http.post(format!("{base}/1c/apply-held"))
                .header("cookie", cookie)
                .form(&[("csrf", csrf.as_str())])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(apply("forged".into()).await, 403);
    let store = dealbridge::app::open_store(&world.config).await.unwrap();
    assert_eq!(
        store.held_deactivation("1c").await.unwrap().products,
        5,
        "still held"
    );
    assert_eq!(apply(csrf.clone()).await, 303);
    assert!(store.held_deactivation("1c").await.unwrap().is_empty());
    let after = console_page(&http, &format!("{base}/1c"), &cookie).await;
    assert!(after.contains("Nothing held."), "{after}");
    assert_eq!(apply(csrf).await, 303, "a second click does nothing more");
    store.close().await;
}

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

//! Raw quick-xml scan vs `inspect` on a generated catalog (not a test: a measurement).
//!
//! Generates the same catalog as the root bench `benches/onec_import.rs` (`import.xml` with N
//! products, `offers.xml` with N offers: 2 prices, 3 `<Склад ИдСклада КоличествоНаСкладе/>` and a
//! total `<Количество>` each, every 5th offer a `GUID#GUID` variant; UTF-8 with BOM, namespace
//! `urn:1C.ru:commerceml_2`), then times, over both files, page cache warm:
//!
//! - `scan`: raw `quick_xml::Reader::read_event_into` over a 64 KiB `BufReader<File>` (no decoding),
//!   exactly as the root bench's scan phase;
//! - `inspect`: [`dealbridge_commerceml::inspect`] (the counting path);
//! - `full`: [`dealbridge_commerceml::inspect_full`] (every item built, the previous `inspect`).
//!
//! Phases are interleaved over `--runs` rounds and the best time of each is kept (the machine is
//! shared; the best run is the least disturbed one). Prints MB/s and the ratio to the scan.
//!
//! ```text
//! cargo run --release -p dealbridge-commerceml --example scan_vs_inspect -- --products 100000 --runs 5
//! ```

use std::io::BufReader;
use std::path::PathBuf;
use std::time::Instant;

#[path = "../../../benches/support/catalog.rs"]
mod catalog;
use catalog::generate;

/// The root bench's scan phase: raw events, nothing decoded or checked beyond quick-xml's own.
fn scan(files: &[PathBuf]) -> u64 {
    let mut events = 0u64;
    for f in files {
        let mut r = quick_xml::Reader::from_reader(BufReader::with_capacity(
            64 * 1024,
            std::fs::File::open(f).expect("open"),
        ));
        let mut buf = Vec::with_capacity(8 * 1024);
        loop {
            match r.read_event_into(&mut buf).expect("well-formed") {
                quick_xml::events::Event::Eof => break,
                _ => events += 1,
            }
            buf.clear();
        }
    }
    events
}

fn inspect(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .map(|f| {
            let s = dealbridge_commerceml::inspect(f).expect("inspect");
            s.products + s.offers
        })
        .sum()
}

fn full(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .map(|f| {
            let s = dealbridge_commerceml::inspect_full(f).expect("inspect_full");
            s.products + s.offers
        })
        .sum()
}

/// A measured pass over the files, returning how many items (or events) it saw.
type Phase = fn(&[PathBuf]) -> u64;

fn main() {
    let mut products = 100_000usize;
    let mut runs = 5usize;
    let mut with_full = true;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--products" => products = args.next().and_then(|v| v.parse().ok()).expect("N"),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("N"),
            "--no-full" => with_full = false,
            "--only" => only = args.next(),
            other => panic!(
                "unknown argument {other}; use --products N --runs N [--no-full] [--only PHASE]"
            ),
        }
    }
    let dir = std::env::temp_dir().join(format!("cml-scan-vs-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let files = generate(&dir, products).expect("generate");
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).expect("size").len())
        .sum();
    let mb = bytes as f64 / 1_000_000.0;
    // Same counts from both paths, or the comparison is meaningless.
    let counted = dealbridge_commerceml::inspect(&files[1]).expect("inspect");
    let built = dealbridge_commerceml::inspect_full(&files[1]).expect("inspect_full");
    assert_eq!(counted, built, "counting and full paths disagree");

    let mut phases: Vec<(&str, Phase)> = vec![("scan", scan), ("inspect", inspect)];
    if with_full {
        phases.push(("full", full));
    }
    // `--only inspect` (for a profiler): that phase alone, the scan kept first as the reference.
    if let Some(o) = &only {
        phases.retain(|(name, _)| name == o);
        assert!(!phases.is_empty(), "--only scan|inspect|full");
    }
    let mut best = vec![f64::INFINITY; phases.len()];
    let mut items = vec![0u64; phases.len()];
    for run in 0..runs {
        for (k, (name, f)) in phases.iter().enumerate() {
            let t = Instant::now();
            items[k] = f(&files);
            let secs = t.elapsed().as_secs_f64();
            eprintln!("run {run} {name}: {secs:.3} s ({:.1} MB/s)", mb / secs);
            best[k] = best[k].min(secs);
        }
    }
    std::fs::remove_dir_all(&dir).ok();

    println!("products + offers: {products} + {products}, files {mb:.1} MB, best of {runs} runs");
    println!("| phase | best s | MB/s | items | % of scan |");
    println!("|---|---|---|---|---|");
    let scan_best = phases
        .iter()
        .position(|(name, _)| *name == "scan")
        .map(|k| best[k]);
    for (k, (name, _)) in phases.iter().enumerate() {
        let ratio = scan_best
            .map(|s| format!("{:.1} %", 100.0 * s / best[k]))
            .unwrap_or_else(|| "-".into());
        println!(
            "| {name} | {:.3} | {:.1} | {} | {ratio} |",
            best[k],
            mb / best[k],
            items[k]
        );
    }
}

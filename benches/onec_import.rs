//! Benchmark (not a test): a CommerceML catalog generated in code, measured in one run through
//! the raw quick-xml event scan, `inspect`, the full `import-1c` into a fresh SQLite file, and a
//! re-import of the same files (everything unchanged).
//!
//! `cargo bench --bench onec_import -- [--products N]...` (default 100000; several `--products`
//! run several sizes). Each phase runs in a child process of this binary so its peak RSS
//! (`VmHWM`) is its own. Output: a Markdown table for `BENCHMARKS.md`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Command;

#[path = "support/catalog.rs"]
mod catalog;
use catalog::generate;
use std::time::Instant;

/// Peak resident set size of this process, kB.
fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|v| v.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

/// Runs one phase in this process and prints `phase secs items vmhwm_kb` on stdout.
fn child(phase: &str, dir: &Path) {
    let files = [dir.join("import.xml"), dir.join("offers.xml")];
    let start = Instant::now();
    let items: u64 = match phase {
        "scan" => {
            let mut events = 0u64;
            for f in &files {
                let mut r = quick_xml::Reader::from_reader(BufReader::with_capacity(
                    64 * 1024,
                    std::fs::File::open(f).unwrap(),
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
        "inspect" => files
            .iter()
            .map(|f| {
                let s = dealbridge_commerceml::inspect(f).expect("inspect");
                s.products + s.offers
            })
            .sum(),
        "import" | "reimport" | "import-plain" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                // `import-plain`: the same import into its own fresh database without the
                // data-quality report, to measure what the report costs.
                let plain = phase == "import-plain";
                let db = if plain {
                    "bench-plain.sqlite"
                } else {
                    "bench.sqlite"
                };
                let url = format!("sqlite://{}", dir.join(db).display());
                let store = dealbridge_store::Store::connect(&url).await.unwrap();
                // The report checks against a mapping of the first price type and warehouse.
                let options = dealbridge::onec::ImportOptions {
                    rules: dealbridge::onec::QualityRules {
                        price_types: vec![catalog::PRICE_TYPES[0].1.to_string()],
                        warehouses: vec![catalog::WAREHOUSES[0].1.to_string()],
                    },
                    quality: !plain,
                    ..Default::default()
                };
                let t = Instant::now();
                let r =
                    dealbridge::onec::import_files_opts(&store, "1c", &files, &options, &|_| {})
                        .await
                        .expect("import");
                let findings: u64 = r.quality.findings.iter().map(|f| f.count).sum();
                eprintln!("{phase}: {findings} quality findings");
                let c = &r.catalog;
                eprintln!(
                    "{phase}: products {:?} offers {:?} prices {:?} stock {:?} in {:.2}s",
                    c.products,
                    c.offers,
                    c.prices,
                    c.stock,
                    t.elapsed().as_secs_f64()
                );
                store.close().await;
                c.products.inserted
                    + c.products.updated
                    + c.products.unchanged
                    + c.offers.inserted
                    + c.offers.updated
                    + c.offers.unchanged
            })
        }
        other => panic!("unknown phase {other}"),
    };
    let secs = start.elapsed().as_secs_f64();
    println!("{phase} {secs} {items} {}", vm_hwm_kb());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--phase") {
        child(&args[i + 1], Path::new(&args[i + 3]));
        return;
    }
    let mut sizes: Vec<usize> = args
        .windows(2)
        .filter(|w| w[0] == "--products")
        .map(|w| w[1].parse().expect("--products N"))
        .collect();
    if sizes.is_empty() {
        sizes.push(100_000);
    }
    // `--phases import,import-plain,...` picks and orders the phases (e.g. to alternate rounds).
    let phases: Vec<String> = args.windows(2).find(|w| w[0] == "--phases").map_or_else(
        || {
            ["scan", "inspect", "import", "reimport", "import-plain"]
                .map(String::from)
                .to_vec()
        },
        |w| w[1].split(',').map(String::from).collect(),
    );
    let exe = std::env::current_exe().unwrap();
    println!("| products + offers | files MB | phase | time s | MB/s | items/s | peak RSS MB |");
    println!("|---|---|---|---|---|---|---|");
    for n in sizes {
        let dir = tempfile::tempdir().unwrap();
        let t = Instant::now();
        let files = generate(dir.path(), n).expect("generate");
        let bytes: u64 = files
            .iter()
            .map(|f| std::fs::metadata(f).unwrap().len())
            .sum();
        eprintln!(
            "generated {n} products + {n} offers, {:.1} MB in {:.1}s",
            bytes as f64 / 1e6,
            t.elapsed().as_secs_f64()
        );
        for (i, phase) in phases.iter().enumerate() {
            let phase = phase.as_str();
            // Warm the page cache once so every phase reads from memory alike.
            if i == 0 {
                for f in &files {
                    let mut r = BufReader::new(std::fs::File::open(f).unwrap());
                    while !r.fill_buf().unwrap().is_empty() {
                        let l = r.buffer().len();
                        r.consume(l);
                    }
                }
            }
            let out = Command::new(&exe)
                .args(["--phase", phase, "--dir"])
                .arg(dir.path())
                .output()
                .expect("run phase");
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success(), "phase {phase} failed");
            let line = String::from_utf8(out.stdout).unwrap();
            let f: Vec<&str> = line.split_whitespace().collect();
            let secs: f64 = f[1].parse().unwrap();
            let items: f64 = f[2].parse().unwrap();
            let rss_kb: f64 = f[3].parse().unwrap();
            println!(
                "| {n} + {n} | {:.1} | {phase} | {secs:.2} | {:.1} | {:.0} | {:.1} |",
                bytes as f64 / 1e6,
                bytes as f64 / 1e6 / secs,
                items / secs,
                rss_kb / 1024.0
            );
        }
    }
}

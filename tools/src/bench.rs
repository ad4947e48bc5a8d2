//! `payouts-tools bench`: the end-to-end benchmark on the embedded default, once or as a sweep.

use std::path::PathBuf;

use payout_local::bench::{BenchConfig, BenchReport, run_bench};
use payout_local::sqlite::Durability;

/// The sweep's sizes: earnings, with a barber per ten earnings.
const SWEEP: [usize; 3] = [10_000, 100_000, 1_000_000];

pub struct BenchArgs {
    pub barbers: usize,
    pub earnings: usize,
    pub db: Option<PathBuf>,
    pub durability: Durability,
    pub sweep: bool,
    pub json: bool,
}

pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let sizes: Vec<(usize, usize)> = if args.sweep {
        SWEEP.iter().map(|&e| ((e / 10).max(1), e)).collect()
    } else {
        vec![(args.barbers, args.earnings)]
    };
    let mut reports = Vec::new();
    for (barbers, earnings) in sizes {
        let dir = tempfile::tempdir()?;
        let db_path = match &args.db {
            Some(path) if !args.sweep => path.clone(),
            Some(_) | None => dir.path().join("bench.db"),
        };
        anyhow::ensure!(
            !db_path.exists(),
            "{} exists; the bench needs a fresh file",
            db_path.display()
        );
        let config = BenchConfig {
            barbers,
            earnings,
            db_path,
            durability: args.durability,
        };
        let report = run_bench(&config, &|phase| {
            if !args.json {
                eprintln!("{barbers} barbers, {earnings} earnings: {phase}...");
            }
        })
        .await?;
        if !args.json {
            print_report(&report);
        }
        reports.push(report);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else if args.sweep {
        println!("\nsweep (time per earning, end to end):");
        let first = reports.first().map_or(1.0, per_earning_us);
        for report in &reports {
            println!(
                "  {:>9} earnings  {:>8.2} µs/earning  ({:.2}x the smallest)",
                report.earnings,
                per_earning_us(report),
                per_earning_us(report) / first
            );
        }
    }
    Ok(())
}

fn per_earning_us(report: &BenchReport) -> f64 {
    report.pipeline_seconds * 1e6 / report.earnings.max(1) as f64
}

fn print_report(report: &BenchReport) {
    println!(
        "\n{} barbers, {} earnings, durability {}",
        report.barbers, report.earnings, report.durability
    );
    println!(
        "  {:<10} {:>10} {:>10} {:>12}",
        "phase", "items", "seconds", "items/s"
    );
    for phase in &report.phases {
        println!(
            "  {:<10} {:>10} {:>10.3} {:>12.0}",
            phase.name, phase.items, phase.seconds, phase.per_second
        );
    }
    println!(
        "  {:<10} {:>10} {:>10.3}",
        "pipeline", report.payouts_completed, report.pipeline_seconds
    );
    println!(
        "  storage floor: {} rows in {:.3} s; pipeline / floor = {:.1}x",
        report.floor_rows, report.floor_seconds, report.floor_ratio
    );
    if let Some(rss) = report.peak_rss_mb {
        println!("  peak RSS: {rss:.0} MB");
    }
}

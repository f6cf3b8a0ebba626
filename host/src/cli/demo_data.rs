//! `jingxun demo-data --out FILE`: writes the synthetic `police` datasource and prints what it
//! holds, with the fixed records to try from a phone.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use jingxun_demo_data::{DemoCounts, DemoSummary, write_demo_database_with};

/// Writes the demo database at `out` (replacing it only with `force`) and prints the summary.
pub async fn run(out: &Path, seed: u64, force: bool) -> anyhow::Result<()> {
    let summary = write_demo_database_with(out, seed, DemoCounts::default(), force).await?;
    let mut stdout = std::io::stdout().lock();
    print_summary(&mut stdout, &summary).context("cannot write the summary to standard output")
}

/// The summary as printed: counts, then the demo queries and what each answers.
fn print_summary(out: &mut impl Write, summary: &DemoSummary) -> std::io::Result<()> {
    writeln!(
        out,
        "wrote {} (seed {})",
        summary.path.display(),
        summary.seed
    )?;
    writeln!(
        out,
        "  persons {}, vehicles {}, licences {}, wanted {}, border crossings {}",
        summary.persons, summary.vehicles, summary.licences, summary.wanted, summary.crossings
    )?;
    writeln!(
        out,
        "register it:  jingxun datasource add --name police --url sqlite://{}",
        summary.path.display()
    )?;
    writeln!(out, "fixed records to try:")?;
    for query in &summary.queries {
        writeln!(out, "  {:<28} {}", query.command, query.expect)?;
    }
    Ok(())
}

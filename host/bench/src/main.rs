//! `jingxun-bench` (run it from a release build: `cargo run --release -p jingxun-bench`): the
//! measured figures of the README, printed; nothing here asserts a time.

mod bench;

use clap::Parser;

/// The benchmark's sizes.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Measures the Jingxun gateway's figures and prints them"
)]
struct Args {
    /// Recipients of the one-send enqueue measurement.
    #[arg(long, default_value_t = 10_000)]
    recipients: usize,
    /// Messages pushed through the simulated modem in each line measurement.
    #[arg(long, default_value_t = 200)]
    messages: usize,
    /// Commands routed end to end in the command measurement.
    #[arg(long, default_value_t = 3_000)]
    commands: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let options = bench::BenchOptions {
        recipients: args.recipients,
        messages: args.messages,
        commands: args.commands,
    };
    bench::run(&options, &mut std::io::stdout()).await?;
    Ok(())
}

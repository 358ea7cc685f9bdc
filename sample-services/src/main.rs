//! `parley-samples SERVICE [OPTIONS]`: runs one sample service on its own.
//! (`parley sample SERVICE` is the same command inside the `parley` binary.)

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "parley-samples",
    version,
    about = "Run one of parley's sample services"
)]
struct Cli {
    #[command(flatten)]
    args: parley_samples::SampleArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match parley_samples::run(cli.args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(
                if matches!(e, parley_samples::config::SampleError::Messaging(_)) {
                    3
                } else {
                    2
                },
            )
        }
    }
}

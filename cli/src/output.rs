//! Output formats shared by the verbs, and writing reports where the user asked.

use std::io::IsTerminal;
use std::path::Path;

use parley_harness::report::{self, human::Style};
use parley_harness::results::RunResults;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Junit,
}

/// Prints the results on stdout in the chosen format.
pub fn print(run: &RunResults, format: Format) {
    let text = match format {
        Format::Human => report::human::render(
            run,
            Style {
                color: std::io::stdout().is_terminal(),
            },
        ),
        Format::Json => report::json(run),
        Format::Junit => report::junit::render(run),
    };
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
}

/// Writes a report file, creating its folder; an error names the file.
pub fn write_file(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

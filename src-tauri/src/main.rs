// Prevents an extra console window on Windows in release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

use kallyai_desktop::launch::cli::{self, Invocation};

fn main() -> ExitCode {
    // Arguments are checked before anything starts, so a bad flag or link never reaches
    // (or disturbs) a running instance: one sentence on stderr and exit status 2.
    match cli::parse(std::env::args().skip(1)) {
        Ok(Invocation::Print(text)) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Ok(Invocation::Run(launch)) => kallyai_desktop::run(launch),
        Err(error) => {
            eprintln!("kallyai-desktop: {error}");
            ExitCode::from(2)
        }
    }
}

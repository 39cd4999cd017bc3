//! `bpfbox`: the command line of bpfboxd. docs/cli.md is its manual.

mod args;
mod client;
mod commands;
mod error;
mod learn;
mod output;

use std::process::ExitCode;

use args::{Cli, Command, Shell};
use clap::Parser as _;
use client::{Agent, Client};

/// The man page and completions build.rs wrote.
const MAN_PAGE: &str = include_str!(concat!(env!("OUT_DIR"), "/bpfbox.1"));
const BASH: &str = include_str!(concat!(env!("OUT_DIR"), "/completion-bpfbox.bash"));
const ZSH: &str = include_str!(concat!(env!("OUT_DIR"), "/completion-bpfbox.zsh"));
const FISH: &str = include_str!(concat!(env!("OUT_DIR"), "/completion-bpfbox.fish"));

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        // no bus, no runtime
        Command::Check { files } => commands::check(files, cli.json),
        Command::Completions { shell } => {
            print!(
                "{}",
                match shell {
                    Shell::Bash => BASH,
                    Shell::Zsh => ZSH,
                    Shell::Fish => FISH,
                }
            );
            Ok(())
        }
        Command::Man => {
            print!("{MAN_PAGE}");
            Ok(())
        }
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(run(&cli))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let (code, message) = error::report(&err);
            eprintln!("bpfbox: error: {message}");
            ExitCode::from(code as u8)
        }
    }
}

async fn run(cli: &Cli) -> anyhow::Result<()> {
    let client = Client::connect().await?;
    // Commands that ask polkit get an agent on the terminal first; reading
    // status and profiles needs no authorization.
    let guarded = !matches!(
        cli.command,
        Command::Status | Command::List | Command::Show { .. }
    );
    let _agent = guarded
        .then(|| Agent::start_if_useful(cli.no_ask_password))
        .flatten();
    let j = cli.json;
    match &cli.command {
        Command::Status => commands::status(&client, j).await,
        Command::List => commands::list(&client, j).await,
        Command::Show { app, text } => commands::show(&client, &app.app, *text, j).await,
        Command::Enable { app, rule } => {
            commands::set_enabled(&client, &app.app, rule, true, j).await
        }
        Command::Disable { app, rule } => {
            commands::set_enabled(&client, &app.app, rule, false, j).await
        }
        Command::Allow { app, kind, keys } => {
            commands::allow(&client, &app.app, *kind, keys, j).await
        }
        Command::Remove { app, rule } => commands::remove(&client, &app.app, rule, j).await,
        Command::Mode { app, mode } => commands::mode(&client, &app.app, *mode, j).await,
        Command::Log { follow, app, lines } => {
            commands::log(&client, *follow, app.as_deref(), *lines, j).await
        }
        Command::Reload => commands::reload(&client, j).await,
        Command::Learn(args) => learn::learn(&client, args, j).await,
        Command::Check { .. } | Command::Completions { .. } | Command::Man => {
            unreachable!("handled without a bus")
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_man_page_documents_every_command_and_the_exit_codes() {
        assert!(
            MAN_PAGE.starts_with(".ie") || MAN_PAGE.contains(".TH bpfbox"),
            "roff"
        );
        for word in [
            "status",
            "list",
            "show",
            "enable",
            "disable",
            "allow",
            "remove",
            "mode",
            "log",
            "reload",
            "check",
            "learn",
            "completions",
        ] {
            assert!(MAN_PAGE.contains(word), "man page lacks {word}");
        }
        assert!(MAN_PAGE.contains("not authorized"), "exit codes are in it");
    }

    #[test]
    fn completions_are_produced_for_bash_zsh_and_fish() {
        assert!(BASH.contains("complete -F _bpfbox"), "{BASH}");
        assert!(ZSH.starts_with("#compdef bpfbox"), "{ZSH}");
        assert!(FISH.contains("complete -c bpfbox"), "{FISH}");
        for script in [BASH, ZSH, FISH] {
            assert!(script.contains("learn") && script.contains("enforce"));
        }
    }

    #[test]
    fn rule_kinds_and_modes_are_the_policys_words() {
        use bpfbox_policy::{Mode, RuleKind};

        for kind in RuleKind::ALL {
            let cli = Cli::try_parse_from(["bpfbox", "allow", "a", kind.word(), "k=v"]).unwrap();
            assert!(matches!(cli.command, Command::Allow { kind: k, .. } if k == kind));
        }
        for mode in Mode::ALL {
            let cli = Cli::try_parse_from(["bpfbox", "mode", "a", mode.word()]).unwrap();
            assert!(matches!(cli.command, Command::Mode { mode: m, .. } if m == mode));
        }
        let cmd = Cli::command();
        let allow = cmd.find_subcommand("allow").unwrap();
        let kinds: Vec<String> = allow
            .get_arguments()
            .find(|a| a.get_id() == "kind")
            .unwrap()
            .get_possible_values()
            .iter()
            .map(|v| v.get_name().to_owned())
            .collect();
        assert_eq!(kinds, RuleKind::ALL.map(RuleKind::word));
        let help = allow.get_after_long_help().unwrap().to_string();
        let first_line = help.lines().next().unwrap();
        for kind in RuleKind::ALL {
            assert!(first_line.contains(kind.word()), "{first_line}");
        }
    }

    #[test]
    fn usage_errors_exit_with_2() {
        let err = Cli::try_parse_from(["bpfbox", "mode", "cat", "strict"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}

//! bpfbox-manager: the desktop app over bpfboxd's D-Bus API.
//!
//! `bpfbox-manager [--profile EXECUTABLE | --history]`: with `--profile`, the
//! page of the profile confining EXECUTABLE opens (the notification agent's
//! "Open" action uses it); with `--history`, the denial history.

mod app;

use bpfbox_gui::i18n::tr;

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
enum Args {
    Run { start: Option<app::Start> },
    Help,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut start = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Args::Help),
            "--profile" => {
                start = Some(app::Start::Profile(
                    args.next()
                        .ok_or_else(|| tr("--profile needs an executable"))?,
                ));
            }
            "--history" => start = Some(app::Start::History),
            _ => match arg.strip_prefix("--profile=") {
                Some(exe) => start = Some(app::Start::Profile(exe.to_owned())),
                None => return Err(tr("unknown argument: {arg}").replace("{arg}", &arg)),
            },
        }
    }
    Ok(Args::Run { start })
}

fn main() -> std::process::ExitCode {
    app::STARTED.get_or_init(std::time::Instant::now);
    bpfbox_gui::logging::init();
    bpfbox_gui::i18n::init();
    let start = match parse_args(std::env::args().skip(1)) {
        Ok(Args::Run { start }) => start,
        Ok(Args::Help) => {
            println!(
                "{}",
                tr("Usage: bpfbox-manager [--profile EXECUTABLE | --history]")
            );
            return std::process::ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("bpfbox-manager: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    // GTK gets no arguments: they are ours, and GApplication would reject
    // `--profile` as unknown.
    relm4::RelmApp::new(app::APP_ID)
        .with_args(Vec::new())
        .run::<app::App>(start);
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, String> {
        parse_args(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn profile_option_names_the_page_to_open_in_both_spellings() {
        let expected = || Args::Run {
            start: Some(app::Start::Profile("/usr/bin/gedit".into())),
        };
        assert_eq!(args(&["--profile", "/usr/bin/gedit"]), Ok(expected()));
        assert_eq!(args(&["--profile=/usr/bin/gedit"]), Ok(expected()));
        assert_eq!(args(&[]), Ok(Args::Run { start: None }));
    }

    #[test]
    fn history_option_opens_the_denial_history() {
        assert_eq!(
            args(&["--history"]),
            Ok(Args::Run {
                start: Some(app::Start::History)
            })
        );
    }

    #[test]
    fn missing_or_unknown_arguments_are_errors() {
        assert!(args(&["--profile"]).is_err());
        assert!(args(&["--frobnicate"]).is_err());
    }
}

//! bpfbox-manager: the desktop app over bpfboxd's D-Bus API.
//!
//! `bpfbox-manager [--profile EXECUTABLE]`: with `--profile`, the page of the
//! profile confining EXECUTABLE opens (the notification agent's "Open"
//! action uses it).

mod app;

use bpfbox_gui::i18n::tr;

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
enum Args {
    Run { profile: Option<String> },
    Help,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut profile = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Args::Help),
            "--profile" => {
                profile = Some(
                    args.next()
                        .ok_or_else(|| tr("--profile needs an executable"))?,
                );
            }
            _ => match arg.strip_prefix("--profile=") {
                Some(exe) => profile = Some(exe.to_owned()),
                None => return Err(tr("unknown argument: {arg}").replace("{arg}", &arg)),
            },
        }
    }
    Ok(Args::Run { profile })
}

fn main() -> std::process::ExitCode {
    bpfbox_gui::i18n::init();
    let profile = match parse_args(std::env::args().skip(1)) {
        Ok(Args::Run { profile }) => profile,
        Ok(Args::Help) => {
            println!("{}", tr("Usage: bpfbox-manager [--profile EXECUTABLE]"));
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
        .run::<app::App>(profile);
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
        let expected = Args::Run {
            profile: Some("/usr/bin/gedit".into()),
        };
        assert_eq!(args(&["--profile", "/usr/bin/gedit"]), Ok(expected));
        let expected = Args::Run {
            profile: Some("/usr/bin/gedit".into()),
        };
        assert_eq!(args(&["--profile=/usr/bin/gedit"]), Ok(expected));
        assert_eq!(args(&[]), Ok(Args::Run { profile: None }));
    }

    #[test]
    fn missing_or_unknown_arguments_are_errors() {
        assert!(args(&["--profile"]).is_err());
        assert!(args(&["--frobnicate"]).is_err());
    }
}

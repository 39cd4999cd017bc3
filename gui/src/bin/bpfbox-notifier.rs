//! bpfbox-notifier: the session agent that shows bpfbox's denials as desktop
//! notifications and sends the person's answers to bpfboxd
//! (docs/notifications.md). It has no window and needs neither the app nor
//! a running bpfboxd: it waits for the daemon and follows its restarts.

use std::process::ExitCode;

fn main() -> ExitCode {
    bpfbox_gui::i18n::init();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // journald and log files get plain text, a terminal colours
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    // One thread: the agent waits on buses, it does not compute.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(err) => {
            eprintln!("bpfbox-notifier: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        bpfbox_gui::agent::service::Agent::connect()
            .await?
            .run()
            .await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

//! bpfbox-notifier: the session agent that shows bpfbox's denials as desktop
//! notifications and sends the person's answers to bpfboxd
//! (docs/notifications.md). It has no window and needs neither the app nor
//! a running bpfboxd: it waits for the daemon and follows its restarts.

use std::process::ExitCode;

fn main() -> ExitCode {
    bpfbox_gui::i18n::init();
    bpfbox_gui::logging::init();
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

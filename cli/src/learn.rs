//! `bpfbox learn`: run a program under a complain-mode profile and propose
//! the rules it needed (bpfbox's take on aa-genprof/aa-logprof).
//!
//! The run itself is [`bpfbox_learn::run`], the flow the app's "Learn from
//! activity" uses too: a new profile for the program's executable (or,
//! with `--app`, an existing one) in complain mode, the proposal once the
//! events have settled, then the learned profile written or the profile
//! put back. What is the terminal's is here: finding and running the
//! program attached to the terminal, showing the diff, asking, and JSON.

use std::{
    io::{BufRead as _, IsTerminal as _, Write as _},
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context as _;
use bpfbox_learn::run::{self, ProposeError, Review, Run, Step, StepError};
use serde_json::json;

use crate::{
    args::Learn,
    client::Client,
    error::{Code, Failure},
    output::json,
};

/// What to do with the proposal.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    Yes,
    No,
    Ask,
}

pub async fn learn(client: &Client, args: &Learn, as_json: bool) -> anyhow::Result<()> {
    let answer = if args.yes {
        Answer::Yes
    } else if args.no {
        Answer::No
    } else if std::io::stdin().is_terminal() {
        Answer::Ask
    } else {
        // Decided before anything runs: finding out after the program ran
        // would throw the run away.
        return Err(Failure::new(
            Code::Usage,
            "stdin is not a terminal, so the proposal cannot be asked about: pass --yes or --no",
        )
        .into());
    };
    let program = &args.command[0];
    let executable = find_executable(program)?;
    let exe = executable.to_string_lossy().into_owned();

    let started = match &args.app {
        Some(app) => {
            let found = client.resolve(app).await?;
            if found.executable != exe {
                eprintln!(
                    "bpfbox: note: {program} is {exe}, but the profile confines {}: only \
                     what runs {} is learned",
                    found.executable, found.executable
                );
            }
            run::start(&client.conn, found.path.as_str()).await
        }
        None => {
            let file_name = args.profile_file.as_ref().map(|n| {
                if Path::new(n).extension().is_some_and(|e| e == "toml") {
                    n.clone()
                } else {
                    format!("{n}.toml")
                }
            });
            run::start_new(&client.conn, &exe, file_name.as_deref()).await
        }
    };
    let run = started.map_err(|e| step_failed(e, &exe))?;
    let outcome = async {
        eprintln!(
            "bpfbox: learning {}: running {}",
            run.executable,
            args.command.join(" ")
        );
        let status = run_program(&args.command).await?;
        eprintln!("bpfbox: {program} exited ({status}); collecting what it did");
        let quiet = Duration::from_millis(args.settle_ms);
        let review = run::propose_settled(&client.conn, &run, quiet)
            .await
            .map_err(|e| match e {
                ProposeError::Daemon(e) => step_failed(e, &exe),
                ProposeError::Rules(e) => {
                    Failure::new(Code::Invalid, format!("a learned rule would not load: {e}"))
                        .into()
                }
            })?;
        decide(client, &run, &review, answer, as_json).await
    };
    match outcome.await {
        Ok(true) => Ok(()),
        Ok(false) => {
            undo(client, &run).await;
            Ok(())
        }
        Err(err) => {
            undo(client, &run).await;
            Err(err)
        }
    }
}

/// The daemon's error, with what the run was doing in the CLI's words.
fn step_failed(e: StepError, exe: &str) -> anyhow::Error {
    match e.step {
        // A property read fails only when bpfboxd is gone, which says it all.
        Step::Profile => e.source.into(),
        Step::Create => anyhow::Error::new(e.source).context(format!(
            "cannot create a learning profile for {exe} (to learn more for an existing \
             profile, use --app)"
        )),
        Step::Text | Step::Events | Step::Complain => e.into(),
    }
}

/// The program as `execvp` would find it, through symlinks: the kernel
/// confines a file, and the profile names it by its real path.
fn find_executable(program: &str) -> anyhow::Result<PathBuf> {
    let candidate = if program.contains('/') {
        Some(PathBuf::from(program))
    } else {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(program))
                .find(|p| is_executable(p))
        })
    };
    let candidate = candidate
        .ok_or_else(|| Failure::new(Code::Invalid, format!("{program}: not found on PATH")))?;
    std::fs::canonicalize(&candidate)
        .map_err(|e| Failure::new(Code::Invalid, format!("{}: {e}", candidate.display())).into())
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs the program on this terminal. Ctrl-C stops the program (it is in
/// the same process group) but not the learning: what it did so far is
/// still proposed, as with aa-genprof.
async fn run_program(command: &[String]) -> anyhow::Result<std::process::ExitStatus> {
    let mut child = tokio::process::Command::new(&command[0])
        .args(&command[1..])
        .spawn()
        .with_context(|| format!("cannot run {}", command[0]))?;
    loop {
        tokio::select! {
            status = child.wait() => return Ok(status?),
            _ = tokio::signal::ctrl_c() => {}
        }
    }
}

/// Shows the proposal and writes it if accepted; `Ok(false)` if rejected.
async fn decide(
    client: &Client,
    run: &Run,
    review: &Review,
    answer: Answer,
    as_json: bool,
) -> anyhow::Result<bool> {
    let learned = &review.learned;
    for note in &learned.skipped {
        eprintln!("bpfbox: not learned: {note}");
    }
    if !as_json {
        eprintln!(
            "bpfbox: {} reported accesses became {} rules:",
            learned.complaints, learned.rules
        );
        print!("{}", learned.diff);
        let _ = std::io::stdout().flush();
    }
    let accepted = match answer {
        Answer::Yes => true,
        Answer::No => false,
        Answer::Ask => ask("Write this profile in enforce mode?")?,
    };
    if accepted {
        run::finish(&client.conn, run, Some(review))
            .await
            .context("cannot write the learned profile")?;
    }
    let executable = &run.executable;
    if as_json {
        json(&json!({
            "executable": executable,
            "events": review.events,
            "complaints": learned.complaints,
            "rules": learned.rules,
            "skipped": learned.skipped,
            "diff": learned.diff,
            "profile": learned.text,
            "applied": accepted,
        }));
    } else if accepted {
        eprintln!("bpfbox: {executable} is now enforced with the learned profile");
    } else {
        eprintln!("bpfbox: the proposal was not applied");
    }
    Ok(accepted)
}

fn ask(question: &str) -> anyhow::Result<bool> {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// Takes back what learning changed (the profile this run created, or the
/// state of an existing one). Best effort: the error that got here matters
/// more than one from cleaning up, which is only reported.
async fn undo(client: &Client, run: &Run) {
    match run::finish(&client.conn, run, None).await {
        Ok(_) if run.created => eprintln!("bpfbox: deleted the learning profile"),
        Ok(_) => {}
        Err(e) => eprintln!("bpfbox: could not undo the learning profile: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_is_found_on_path_by_its_real_path() {
        let sh = find_executable("sh").unwrap();
        assert!(sh.is_absolute());
        assert_eq!(sh, std::fs::canonicalize(&sh).unwrap());
        let err = find_executable("no-such-program-bpfbox").unwrap_err();
        assert_eq!(crate::error::report(&err).0, Code::Invalid);
    }
}

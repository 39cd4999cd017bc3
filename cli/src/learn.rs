//! `bpfbox learn`: run a program under a complain-mode profile and propose
//! the rules it needed (bpfbox's take on aa-genprof/aa-logprof).
//!
//! 1. A new profile for the program's executable, in complain mode, with
//!    `taint_on_exec = true` and no rules, so that every access the
//!    program makes (except reading its own executable) is reported; or,
//!    with `--app`, an existing profile switched to complain mode.
//! 2. The program runs, attached to the terminal, until it exits.
//! 3. bpfboxd holds repeats of an event for up to two seconds before
//!    reporting it, so the events are read until nothing new came for
//!    `--settle-ms`.
//! 4. The complaints become rules ([`crate::generalise`]), added to the
//!    profile's text with the mode set to enforce; the change is shown as
//!    a diff against the text the daemon has.
//! 5. Accepting writes it with `Replace`, passing the text the diff was
//!    made against, so an edit made meanwhile is a conflict and not lost.
//!    Rejecting deletes the profile this run created, or puts an existing
//!    one back into its mode.

use std::{
    io::{BufRead as _, IsTerminal as _, Write as _},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use bpfbox_dbus::{options, EventInfo, ProfileProxy};
use bpfbox_learn::{homes, Machine};
use serde_json::json;

use crate::{
    args::Learn,
    client::Client,
    commands::events_after,
    error::{Code, Failure},
    output::json,
};

/// How often the events are read while waiting for them to settle.
const POLL: Duration = Duration::from_millis(250);
/// The longest wait for events after the program exits: a program that
/// left children behind would otherwise keep the wait going forever.
const MAX_SETTLE: Duration = Duration::from_secs(60);

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

    // The profile and the first event id that belongs to this run.
    let mut created = false;
    let (path, previous_mode) = match &args.app {
        Some(app) => {
            let found = client.resolve(app).await?;
            if found.executable != exe {
                eprintln!(
                    "bpfbox: note: {program} is {exe}, but the profile confines {}: only \
                     what runs {} is learned",
                    found.executable, found.executable
                );
            }
            let profile = client.profile(found.path.clone()).await?;
            let mode = profile.mode().await?;
            (found.path, Some(mode))
        }
        None => {
            let text = new_profile_text(&exe);
            let mut opts = options::none();
            let file_name = args.profile_file.as_ref().map(|n| {
                if Path::new(n).extension().is_some_and(|e| e == "toml") {
                    n.clone()
                } else {
                    format!("{n}.toml")
                }
            });
            if let Some(name) = &file_name {
                opts.insert("file_name", name.as_str().into());
            }
            let path = client
                .manager
                .create_profile(&text, &opts)
                .await
                .with_context(|| {
                    format!(
                        "cannot create a learning profile for {exe} (to learn more for an \
                         existing profile, use --app)"
                    )
                })?;
            created = true;
            (path, None)
        }
    };
    let profile = client.profile(path).await?;
    let run = async {
        let target = profile.executable().await?;
        let watermark = events_after(client, 0, Some(&target))
            .await?
            .last()
            .map_or(0, |e| e.id);
        if previous_mode.as_deref().is_some_and(|m| m != "complain") {
            profile
                .set_mode("complain", &options::none())
                .await
                .context("cannot switch the profile to complain mode for learning")?;
        }
        eprintln!(
            "bpfbox: learning {target}: running {}",
            args.command.join(" ")
        );
        let status = run_program(&args.command).await?;
        eprintln!("bpfbox: {program} exited ({status}); collecting what it did");
        let events = settle(
            client,
            watermark,
            &target,
            Duration::from_millis(args.settle_ms),
        )
        .await?;
        anyhow::Ok((target, events))
    };
    let outcome = match run.await {
        Ok(outcome) => outcome,
        Err(err) => {
            undo(&profile, created, previous_mode.as_deref()).await;
            return Err(err);
        }
    };
    let (target, events) = outcome;
    let decided = propose_and_decide(&profile, &target, &events, answer, as_json).await;
    match decided {
        Ok(true) => Ok(()),
        Ok(false) => {
            undo(&profile, created, previous_mode.as_deref()).await;
            Ok(())
        }
        Err(err) => {
            undo(&profile, created, previous_mode.as_deref()).await;
            Err(err)
        }
    }
}

/// The text of a new learning profile.
pub fn new_profile_text(executable: &str) -> String {
    format!(
        "# learned with `bpfbox learn`\nprofile = {}\nmode = \"complain\"\ntaint_on_exec = true\n",
        toml_edit::Value::from(executable)
    )
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

/// Reads the events of `executable` after `watermark` until none came for
/// `quiet`, counted from the program's exit.
async fn settle(
    client: &Client,
    watermark: u64,
    executable: &str,
    quiet: Duration,
) -> anyhow::Result<Vec<EventInfo>> {
    let start = Instant::now();
    let mut events: Vec<EventInfo> = Vec::new();
    let mut last_new = start;
    loop {
        let after = events.last().map_or(watermark, |e| e.id);
        let more = events_after(client, after, Some(executable)).await?;
        if !more.is_empty() {
            last_new = Instant::now();
            events.extend(more);
        }
        if last_new.elapsed() >= quiet || start.elapsed() >= MAX_SETTLE {
            return Ok(events);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Shows the proposal and writes it if accepted; `Ok(false)` if rejected.
async fn propose_and_decide(
    profile: &ProfileProxy<'_>,
    executable: &str,
    events: &[EventInfo],
    answer: Answer,
    as_json: bool,
) -> anyhow::Result<bool> {
    let current = profile
        .get_text(&options::none())
        .await
        .context("cannot read the profile's text")?;
    let file = PathBuf::from(profile.file().await?);
    let machine = Machine {
        executable: executable.to_owned(),
        homes: homes(),
    };
    let learned = bpfbox_learn::learn(&file, &current, events, &machine)
        .map_err(|e| Failure::new(Code::Invalid, format!("a learned rule would not load: {e}")))?;
    let (proposed, diff, complaints) = (&learned.text, &learned.diff, learned.complaints);
    for note in &learned.skipped {
        eprintln!("bpfbox: not learned: {note}");
    }
    if !as_json {
        eprintln!(
            "bpfbox: {complaints} reported accesses became {} rules:",
            learned.rules
        );
        print!("{diff}");
        let _ = std::io::stdout().flush();
    }
    let accepted = match answer {
        Answer::Yes => true,
        Answer::No => false,
        Answer::Ask => ask("Write this profile in enforce mode?")?,
    };
    if accepted {
        let mut opts = options::none();
        opts.insert("previous", current.as_str().into());
        profile
            .replace(proposed, &opts)
            .await
            .context("cannot write the learned profile")?;
    }
    if as_json {
        json(&json!({
            "executable": executable,
            "events": events.len(),
            "complaints": complaints,
            "rules": learned.rules,
            "skipped": learned.skipped,
            "diff": diff,
            "profile": proposed,
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

/// Takes back what learning changed: the profile this run created, or the
/// mode of an existing one. Best effort: the error that got here matters
/// more than one from cleaning up, which is only reported.
async fn undo(profile: &ProfileProxy<'_>, created: bool, previous_mode: Option<&str>) {
    let result = if created {
        profile.delete(&options::none()).await
    } else if let Some(mode) = previous_mode.filter(|m| *m != "complain") {
        profile.set_mode(mode, &options::none()).await
    } else {
        Ok(())
    };
    match result {
        Ok(()) if created => eprintln!("bpfbox: deleted the learning profile"),
        Ok(()) => {}
        Err(e) => eprintln!("bpfbox: could not undo the learning profile: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use bpfbox_policy::Mode;

    use super::*;

    #[test]
    fn the_learning_profile_complains_about_everything_from_exec() {
        let text = new_profile_text("/usr/bin/gzip");
        let profile = bpfbox_policy::parse_str(&text, Path::new("gzip.toml")).unwrap();
        assert_eq!(profile.mode, Mode::Complain);
        assert_eq!(profile.taint_on_exec, Some(true));
        assert_eq!(profile.rule_count(), 0);
    }

    #[test]
    fn a_program_is_found_on_path_by_its_real_path() {
        let sh = find_executable("sh").unwrap();
        assert!(sh.is_absolute());
        assert_eq!(sh, std::fs::canonicalize(&sh).unwrap());
        let err = find_executable("no-such-program-bpfbox").unwrap_err();
        assert_eq!(crate::error::report(&err).0, Code::Invalid);
    }
}

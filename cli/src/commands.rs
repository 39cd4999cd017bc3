//! Every subcommand but `learn`.

use std::{collections::VecDeque, path::PathBuf};

use anyhow::Context as _;
use bpfbox_dbus::{names::BUS_NAME, options, EventInfo};
use bpfbox_policy::{Mode, RuleKind};
use futures_util::StreamExt as _;
use serde_json::json;

use crate::{
    client::Client,
    error::{Code, Failure},
    output::{json, local_time, or_dash, table},
};

pub async fn status(client: &Client, as_json: bool) -> anyhow::Result<()> {
    let m = &client.manager;
    let version = m.version().await.context("cannot read bpfboxd's status")?;
    let enforcing = m.enforcing().await?;
    let kernel = m.kernel_release().await?;
    let dir = m.policy_directory().await?;
    let profiles = m.profile_count().await?;
    let delivered = m.events_delivered().await?;
    let lost = m.events_lost().await?;
    let problems = m.policy_problems().await?;
    if as_json {
        json(&json!({
            "version": version,
            "enforcing": enforcing,
            "kernel_release": kernel,
            "policy_directory": dir,
            "profiles": profiles,
            "events_delivered": delivered,
            "events_lost": lost,
            "policy_problems": problems,
        }));
        return Ok(());
    }
    println!(
        "bpfboxd {version} on Linux {kernel}: {}",
        if enforcing {
            "enforcing"
        } else {
            "NOT enforcing (programs not attached)"
        }
    );
    println!("policy:   {dir} ({profiles} profiles)");
    println!("events:   {delivered} delivered, {lost} lost");
    if problems.is_empty() {
        println!("problems: none");
    } else {
        println!("problems:");
        for p in &problems {
            let place = match (p.line, p.column) {
                (0, _) => String::new(),
                (l, c) => format!(":{l}:{c}"),
            };
            println!("  {}{place}: {}: {}", p.file, p.severity, p.message);
        }
    }
    Ok(())
}

pub async fn list(client: &Client, as_json: bool) -> anyhow::Result<()> {
    let profiles = client
        .manager
        .list_profiles(&options::none())
        .await
        .context("cannot list the profiles")?;
    if as_json {
        json(&profiles);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = profiles
        .iter()
        .map(|p| {
            vec![
                p.executable.clone(),
                or_dash(&p.display_name),
                p.mode.clone(),
                if p.installed {
                    p.running_processes.to_string()
                } else {
                    "not installed".into()
                },
                p.rule_count.to_string(),
                p.denial_count.to_string(),
                or_dash(&p.last_error),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["PROFILE", "NAME", "MODE", "PROCS", "RULES", "DENIALS", "ERROR"],
            &rows
        )
    );
    Ok(())
}

pub async fn show(client: &Client, app: &str, text: bool, as_json: bool) -> anyhow::Result<()> {
    let found = client.resolve(app).await?;
    let p = client.profile(found.path.clone()).await?;
    if text {
        let text = p.get_text(&options::none()).await?;
        if as_json {
            json(&json!({ "executable": found.executable, "text": text }));
        } else {
            print!("{text}");
        }
        return Ok(());
    }
    let rules = p
        .get_rules(&options::none())
        .await
        .with_context(|| format!("cannot read the rules of {}", found.executable))?;
    let (name, mode, file) = (p.display_name().await?, p.mode().await?, p.file().await?);
    let (installed, running, denials, last_error) = (
        p.installed().await?,
        p.running_processes().await?,
        p.denial_count().await?,
        p.last_error().await?,
    );
    if as_json {
        json(&json!({
            "object": found.path.as_str(),
            "executable": found.executable,
            "display_name": name,
            "app_id": p.app_id().await?,
            "mode": mode,
            "file": file,
            "installed": installed,
            "running_processes": running,
            "denial_count": denials,
            "last_error": last_error,
            "rules": rules,
        }));
        return Ok(());
    }
    println!("profile:  {}", found.executable);
    if !name.is_empty() {
        println!("name:     {name}");
    }
    println!("mode:     {mode}");
    println!("file:     {file}");
    if installed {
        println!("running:  {running} processes, {denials} denials since bpfboxd started");
    } else {
        println!("running:  not installed (confined from its first run once it is), {denials} denials since bpfboxd started");
    }
    if !last_error.is_empty() {
        println!("error:    {last_error}");
    }
    println!();
    let rows: Vec<Vec<String>> = rules
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.kind.clone(),
                if r.enabled { "yes" } else { "no" }.into(),
                or_dash(&r.expires),
                r.actions.join(","),
                r.summary.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["ID", "KIND", "ENABLED", "EXPIRES", "ACTION", "SUMMARY"],
            &rows
        )
    );
    Ok(())
}

pub async fn set_enabled(
    client: &Client,
    app: &str,
    rule: &str,
    enabled: bool,
    as_json: bool,
) -> anyhow::Result<()> {
    let found = client.resolve(app).await?;
    let verb = if enabled { "enable" } else { "disable" };
    client
        .profile(found.path)
        .await?
        .set_rule_enabled(rule, enabled, &options::none())
        .await
        .with_context(|| format!("cannot {verb} rule {rule} of {}", found.executable))?;
    done(
        as_json,
        &json!({ "executable": found.executable, "rule": rule, "enabled": enabled }),
        &format!("rule {rule} of {} {verb}d", found.executable),
    );
    Ok(())
}

pub async fn allow(
    client: &Client,
    app: &str,
    kind: RuleKind,
    keys: &[String],
    as_json: bool,
) -> anyhow::Result<()> {
    let body = rule_body(keys)?;
    let found = client.resolve(app).await?;
    let kind = kind.word();
    // the daemon picks the id (`user-<kind>-<n>`) and returns it
    let id = client
        .profile(found.path)
        .await?
        .add_rule(kind, &body, &options::none())
        .await
        .with_context(|| format!("cannot add the rule to {}", found.executable))?;
    done(
        as_json,
        &json!({ "executable": found.executable, "rule": id, "kind": kind, "body": body }),
        &format!("added rule {id} to {}", found.executable),
    );
    Ok(())
}

pub async fn remove(client: &Client, app: &str, rule: &str, as_json: bool) -> anyhow::Result<()> {
    let found = client.resolve(app).await?;
    client
        .profile(found.path)
        .await?
        .remove_rule(rule, &options::none())
        .await
        .with_context(|| format!("cannot remove rule {rule} of {}", found.executable))?;
    done(
        as_json,
        &json!({ "executable": found.executable, "removed": rule }),
        &format!("removed rule {rule} of {}", found.executable),
    );
    Ok(())
}

pub async fn mode(client: &Client, app: &str, mode: Mode, as_json: bool) -> anyhow::Result<()> {
    let found = client.resolve(app).await?;
    let word = mode.word();
    client
        .profile(found.path)
        .await?
        .set_mode(word, &options::none())
        .await
        .with_context(|| format!("cannot set the mode of {}", found.executable))?;
    done(
        as_json,
        &json!({ "executable": found.executable, "mode": word }),
        &format!("{} is now in {word} mode", found.executable),
    );
    Ok(())
}

pub async fn reload(client: &Client, as_json: bool) -> anyhow::Result<()> {
    client
        .manager
        .reload(&options::none())
        .await
        .context("cannot reload the policy")?;
    done(as_json, &json!({ "reloaded": true }), "policy reloaded");
    Ok(())
}

/// Every event after `after` (of `executable` if given), paging through.
pub async fn events_after(
    client: &Client,
    after: u64,
    executable: Option<&str>,
) -> anyhow::Result<Vec<EventInfo>> {
    client
        .manager
        .events_after(after, executable)
        .await
        .context("cannot read the events")
}

pub async fn log(
    client: &Client,
    follow: bool,
    app: Option<&str>,
    lines: Option<usize>,
    as_json: bool,
) -> anyhow::Result<()> {
    let executable = match app {
        Some(app) => Some(client.resolve(app).await?.executable),
        None => None,
    };
    // Subscribe before reading the past, so nothing falls between the two;
    // what arrives twice is told apart by its id.
    let mut denied = None;
    if follow {
        client
            .manager
            .subscribe(&options::none())
            .await
            .context("cannot subscribe to denials")?;
        denied = Some(client.manager.receive_denied().await?);
    }
    let past = events_after(client, 0, executable.as_deref()).await?;
    let mut last = past.last().map_or(0, |e| e.id);
    let mut shown: VecDeque<EventInfo> = past.into();
    if let Some(n) = lines {
        while shown.len() > n {
            shown.pop_front();
        }
    }
    if !as_json && !shown.is_empty() {
        println!("{}", event_header());
    }
    for e in &shown {
        print_event(e, as_json);
    }
    let Some(mut denied) = denied else {
        return Ok(());
    };
    let dbus = zbus::fdo::DBusProxy::new(&client.conn).await?;
    let bus_name = zbus::names::BusName::try_from(BUS_NAME)?;
    let mut owner = dbus.get_name_owner(bus_name.clone()).await.ok();
    let mut owners = dbus
        .receive_name_owner_changed_with_args(&[(0, BUS_NAME)])
        .await?;
    loop {
        tokio::select! {
            signal = denied.next() => {
                let Some(signal) = signal else { return Ok(()) };
                // Anyone may send a signal named Denied; only the owner of
                // the daemon's name speaks for it.
                let sender = signal.message().header().sender().map(|s| s.to_string());
                if sender.is_none() || sender != owner.as_ref().map(ToString::to_string) {
                    continue;
                }
                let Ok(args) = signal.args() else { continue };
                let event = args.event;
                if event.id <= last
                    || executable.as_deref().is_some_and(|exe| exe != event.executable)
                {
                    continue;
                }
                last = event.id;
                print_event(&event, as_json);
            }
            change = owners.next() => {
                let Some(change) = change else { return Ok(()) };
                let Ok(args) = change.args() else { continue };
                owner = args.new_owner().as_ref().map(|n| n.to_owned().into());
                if owner.is_some() {
                    // A new daemon instance: new ids, and a subscription
                    // that died with the old one.
                    last = 0;
                    client.manager.subscribe(&options::none()).await
                        .context("cannot subscribe to the restarted bpfboxd")?;
                    eprintln!("bpfbox: bpfboxd restarted; following it");
                } else {
                    eprintln!("bpfbox: bpfboxd stopped; waiting for it to come back");
                }
            }
        }
    }
}

fn event_header() -> String {
    table(
        &[
            "TIME", "ACTION", "PROFILE", "PID", "KIND", "ACCESS", "OBJECT",
        ],
        &[],
    )
    .trim_end()
    .to_owned()
}

fn print_event(e: &EventInfo, as_json: bool) {
    if as_json {
        // one object per line, so `-f` output can be read as it comes
        println!(
            "{}",
            serde_json::to_string(e).expect("wire types always serialize")
        );
        return;
    }
    let count = if e.count > 1 {
        format!(" (×{})", e.count)
    } else {
        String::new()
    };
    println!(
        "{}  {}  {}  {}  {}  {}  {}{count}",
        local_time(e.time_usec),
        e.action,
        e.executable,
        e.tgid,
        e.kind,
        or_dash(&e.access),
        e.object
    );
}

pub fn check(files: &[PathBuf], as_json: bool) -> anyhow::Result<()> {
    let mut report = bpfbox_policy::lint_report(files);
    bpfbox_policy::check_executable_links(&mut report);
    let diagnostics = report.diagnostics;
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    if as_json {
        let list: Vec<_> = diagnostics
            .iter()
            .map(|d| {
                json!({
                    "file": d.path.display().to_string(),
                    "line": d.location.map_or(0, |l| l.line),
                    "column": d.location.map_or(0, |l| l.column),
                    "severity": d.severity.to_string(),
                    "message": d.problem.to_string(),
                })
            })
            .collect();
        json(&list);
    } else {
        for d in &diagnostics {
            println!("{d}");
        }
    }
    if errors > 0 {
        return Err(Failure::new(
            Code::Invalid,
            format!(
                "{errors} error{} in the profiles",
                if errors == 1 { "" } else { "s" }
            ),
        )
        .into());
    }
    if !as_json {
        let warnings = diagnostics.len();
        println!("ok: no errors, {warnings} warning(s)");
    }
    Ok(())
}

/// The body `AddRule` takes from `KEY=VALUE` words: TOML with one key per
/// line, commas splitting values, a repeated key collecting them all.
/// toml_edit encodes the values, so quotes or newlines in them stay values.
pub fn rule_body(words: &[String]) -> anyhow::Result<String> {
    let mut keys: Vec<(String, Vec<String>)> = Vec::new();
    for word in words {
        let (key, value) = word.split_once('=').ok_or_else(|| {
            Failure::new(
                Code::Usage,
                format!("{word:?} is not KEY=VALUE (e.g. file=/srv/data/** or access=read,write)"),
            )
        })?;
        let key = key.trim();
        let values: Vec<String> = value
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
        if key.is_empty() || values.is_empty() {
            return Err(
                Failure::new(Code::Usage, format!("{word:?} has no key or no value")).into(),
            );
        }
        match keys.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => v.extend(values),
            None => keys.push((key.to_owned(), values)),
        }
    }
    let mut doc = toml_edit::DocumentMut::new();
    for (key, values) in keys {
        let value = if let [one] = values.as_slice() {
            toml_edit::value(one.as_str())
        } else {
            toml_edit::value(
                values
                    .iter()
                    .map(String::as_str)
                    .collect::<toml_edit::Array>(),
            )
        };
        doc[key.as_str()] = value;
    }
    Ok(doc.to_string())
}

fn done(as_json: bool, value: &serde_json::Value, text: &str) {
    if as_json {
        json(value);
    } else {
        println!("{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn key_value_words_become_the_toml_body_add_rule_takes() {
        let body = rule_body(&words(&["file=~/Notes/**", "access=read,write"])).unwrap();
        assert_eq!(
            body,
            "file = \"~/Notes/**\"\naccess = [\"read\", \"write\"]\n"
        );
    }

    #[test]
    fn a_repeated_key_collects_its_values() {
        let body = rule_body(&words(&["file=/a", "file=/b", "access=read"])).unwrap();
        assert_eq!(body, "file = [\"/a\", \"/b\"]\naccess = \"read\"\n");
    }

    #[test]
    fn quotes_and_newlines_in_a_value_cannot_add_keys() {
        let body = rule_body(&words(&["file=/x\"\naccess = \"any"])).unwrap();
        let doc: toml_edit::DocumentMut = body.parse().unwrap();
        assert_eq!(doc.len(), 1, "{body}");
        assert_eq!(doc["file"].as_str(), Some("/x\"\naccess = \"any"));
    }

    #[test]
    fn check_passes_a_good_profile_and_fails_a_bad_one_with_code_6() {
        let dir = std::env::temp_dir().join(format!("bpfbox-cli-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.toml");
        let bad = dir.join("bad.toml");
        std::fs::write(&good, "profile = \"/usr/bin/cat\"\n").unwrap();
        std::fs::write(
            &bad,
            "profile = \"/usr/bin/ls\"\n[[fs]]\nfile = \"/x\"\naccess = \"reed\"\n",
        )
        .unwrap();
        assert!(check(std::slice::from_ref(&good), true).is_ok());
        let err = check(&[good, bad], true).unwrap_err();
        assert_eq!(crate::error::report(&err).0, Code::Invalid);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_word_without_equals_is_a_usage_error() {
        let err = rule_body(&words(&["file"])).unwrap_err();
        assert_eq!(crate::error::report(&err).0, Code::Usage);
    }
}

//! Learning a profile (bpfbox's take on AppArmor's aa-genprof/aa-logprof):
//! the accesses an app made in complain mode become rules that generalise
//! ([`generalise`]), added to the profile's text with the mode set to
//! enforce, shown as a diff for a person to accept or reject. The `bpfbox
//! learn` command and the app's "Learn from activity" both drive a learning
//! run with [`run`], so they go through the same steps and propose the same
//! profile for the same run.

pub mod generalise;
pub mod run;

use std::path::Path;

use bpfbox_dbus::EventInfo;
use bpfbox_policy::{EditError, Expiry, Mode, ProfileEdit};

pub use generalise::{is_complaint, propose, Machine, Proposal};

/// A proposal ready to be shown and written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learned {
    /// The profile's text with the learned rules, in enforce mode.
    pub text: String,
    /// A unified diff from the current text to `text`.
    pub diff: String,
    /// How many of the events were complaints.
    pub complaints: usize,
    /// How many rules they became.
    pub rules: usize,
    /// Events that became no rule, with why.
    pub skipped: Vec<String>,
}

/// Proposes the profile `current` (the text of `file`) plus what `events`
/// show the app needed.
///
/// # Errors
/// When `current` does not parse or a rule would not load (a bug in the
/// generalisation, reported rather than written).
pub fn learn(
    file: &Path,
    current: &str,
    events: &[EventInfo],
    machine: &Machine,
) -> Result<Learned, EditError> {
    let proposal = propose(events, machine);
    let text = proposed_text(file, current, &proposal)?;
    let diff = similar::TextDiff::from_lines(current, text.as_str())
        .unified_diff()
        .context_radius(3)
        .header("current", "proposed")
        .to_string();
    Ok(Learned {
        diff,
        complaints: events.iter().filter(|e| is_complaint(e)).count(),
        rules: proposal.rules.len(),
        skipped: proposal.skipped,
        text,
    })
}

/// `current` with the proposal's rules added (ids `learned-<kind>-<n>`, not
/// clashing with ids already there) and the mode set to enforce, edited in
/// place so comments and layout stay.
///
/// # Errors
/// When `current` does not parse or a rule would not load.
pub fn proposed_text(file: &Path, current: &str, proposal: &Proposal) -> Result<String, EditError> {
    let mut edit = ProfileEdit::from_text(file, current)?;
    edit.set_mode(Mode::Enforce)?;
    for rule in &proposal.rules {
        let mut n = 1;
        loop {
            let id = format!("learned-{}-{n}", rule.kind.word());
            match edit.add_rule(rule, Some(&id), &Expiry::Never) {
                Ok(_) => break,
                Err(EditError::DuplicateId { .. }) => n += 1,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(edit.text())
}

/// Home directories as the daemon expands `~` (bpfbox-users: the one rule
/// for whose home `~` is).
#[must_use]
pub fn homes() -> Vec<String> {
    bpfbox_users::homes()
        .into_iter()
        .filter_map(|h| h.to_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use bpfbox_policy::{NewRule, RuleKind};

    use super::*;

    #[test]
    fn the_proposal_enforces_and_keeps_what_was_written() {
        let current = "# mine\nprofile = \"/usr/bin/gzip\"\nmode = \"complain\"\n\n[[fs]]\nid = \"learned-fs-1\"\nfile = \"/etc/x\"\naccess = \"read\"\n";
        let proposal = Proposal {
            rules: vec![NewRule::new(RuleKind::Fs)
                .with("file", ["/usr/lib/**"])
                .with("access", ["read", "exec"])],
            skipped: Vec::new(),
        };
        let text = proposed_text(Path::new("gzip.toml"), current, &proposal).unwrap();
        assert!(text.starts_with("# mine\n"), "{text}");
        let profile = bpfbox_policy::parse_str(&text, Path::new("gzip.toml")).unwrap();
        assert_eq!(profile.mode, Mode::Enforce);
        assert_eq!(profile.rule_count(), 2);
        assert!(
            text.contains("id = \"learned-fs-2\""),
            "ids do not clash: {text}"
        );
    }
}

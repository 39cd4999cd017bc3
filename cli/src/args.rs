// The command line of `bpfbox`. build.rs includes this file too, to write
// the man page and the shell completions at build time, so it may use only
// clap, std and bpfbox-policy (the words of rule kinds and modes).

use std::path::PathBuf;

use bpfbox_policy::{Mode, RuleKind};
use clap::{
    builder::{PossibleValue, PossibleValuesParser, TypedValueParser},
    Args, Parser, Subcommand, ValueEnum,
};

/// What `bpfbox` exits with; docs/cli.md and the man page list the same.
pub const EXIT_STATUS: &str = "\
Exit status:
  0  success
  1  failure (anything not listed below)
  2  usage error (unknown command or option, missing argument)
  3  bpfboxd is not running (or the system bus is not reachable)
  4  not authorized (polkit said no, or no agent could ask for a password)
  5  no such profile, rule or event
  6  invalid argument or policy (a rule or profile that would not load)
  7  conflict (the profile changed meanwhile, or a duplicate)";

/// Manage bpfbox: application profiles, their rules and modes, the events
/// bpfboxd reports, and learning a profile by running a program.
///
/// Talks to bpfboxd over the system bus (org.bpfbox.Bpfbox1). Reading
/// profiles needs no authorization; changes, events and reloads ask polkit,
/// which may ask for a password on the terminal.
#[derive(Debug, Parser)]
#[command(name = "bpfbox", version, after_long_help = EXIT_STATUS)]
pub struct Cli {
    /// Print JSON for scripts instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    /// Never start a polkit agent on the terminal to ask for a password.
    #[arg(long, global = true)]
    pub no_ask_password: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show whether bpfboxd runs and enforces, and its policy problems.
    Status,
    /// List every profile with its mode, processes, rules and denials.
    List,
    /// Show one profile and its rules.
    Show {
        #[command(flatten)]
        app: App,
        /// Print the profile's file instead, comments and all.
        #[arg(long)]
        text: bool,
    },
    /// Enable a rule that was disabled.
    Enable {
        #[command(flatten)]
        app: App,
        /// The rule's id (see `bpfbox show APP`).
        rule: String,
    },
    /// Disable a rule; it stays in the profile.
    Disable {
        #[command(flatten)]
        app: App,
        /// The rule's id (see `bpfbox show APP`).
        rule: String,
    },
    /// Add a rule allowing something, in the words of the profile format.
    ///
    /// Example: bpfbox allow /usr/bin/gedit fs file=~/Notes/** access=read,write
    #[command(after_long_help = allow_help())]
    Allow {
        #[command(flatten)]
        app: App,
        /// The rule's kind.
        #[arg(value_parser = rule_kinds())]
        kind: RuleKind,
        /// The rule's keys, e.g. file=~/Notes/** access=read,write.
        #[arg(value_name = "KEY=VALUE", required = true)]
        keys: Vec<String>,
    },
    /// Remove a rule from a profile.
    Remove {
        #[command(flatten)]
        app: App,
        /// The rule's id (see `bpfbox show APP`).
        rule: String,
    },
    /// Set a profile's mode.
    Mode {
        #[command(flatten)]
        app: App,
        /// enforce: deny what no rule allows; complain: allow it and report
        /// it; disabled: check nothing.
        #[arg(value_parser = modes())]
        mode: Mode,
    },
    /// Show the events bpfboxd reported (denials, complaints, audits).
    Log {
        /// Keep running and show new denials as they happen.
        #[arg(short, long)]
        follow: bool,
        /// Only the events of this profile.
        #[arg(long, value_name = "APP")]
        app: Option<String>,
        /// Show at most this many past events (the most recent).
        #[arg(short = 'n', long, value_name = "N")]
        lines: Option<usize>,
    },
    /// Make bpfboxd read its policy directory again.
    Reload,
    /// Check profile files without loading them (no daemon needed).
    Check {
        /// Profile files or directories of profiles.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Learn a profile: run a program in complain mode and propose the rules
    /// it needed.
    #[command(after_long_help = "\
Without --app, a new profile in complain mode is created for the program
(found on PATH), the program runs, and the accesses bpfboxd reported are
turned into rules: libraries and locale data become directory globs, paths
in a home directory become ~/..., temporary files their directory. The
proposal is shown as a diff; accepting writes it in enforce mode, rejecting
deletes the new profile. With --app, an existing profile is put in complain
mode for the run and the proposal adds to it.

  bpfbox learn -- gzip -c notes.txt
  bpfbox learn --yes --app /usr/bin/gzip -- gzip -d notes.txt.gz")]
    Learn(Learn),
    /// Print a shell's completion script.
    Completions {
        /// The shell.
        shell: Shell,
    },
    /// Print the man page (roff).
    #[command(hide = true)]
    Man,
}

/// A profile named on the command line.
#[derive(Debug, Args)]
pub struct App {
    /// The profile: its executable's path, or its display name or the
    /// executable's file name when exactly one profile has it.
    #[arg(value_name = "APP")]
    pub app: String,
}

/// `bpfbox learn`.
#[derive(Debug, Args)]
pub struct Learn {
    /// Learn more for this existing profile instead of creating one.
    #[arg(long, value_name = "APP", conflicts_with = "profile_file")]
    pub app: Option<String>,
    /// The new profile's file name in the policy directory (default: the
    /// executable's name, e.g. gzip.toml).
    #[arg(long, value_name = "NAME")]
    pub profile_file: Option<String>,
    /// Accept the proposal without asking.
    #[arg(long, short = 'y', conflicts_with = "no")]
    pub yes: bool,
    /// Reject the proposal without asking (show it only).
    #[arg(long)]
    pub no: bool,
    /// After the program exits, wait until bpfboxd has reported nothing new
    /// for this long (it holds repeats of an event for up to 2 s).
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    pub settle_ms: u64,
    /// The program and its arguments.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Rule kinds, as the profile format names them (the policy crate's words).
fn rule_kinds() -> impl TypedValueParser<Value = RuleKind> {
    let about = |kind| match kind {
        RuleKind::Fs => "Files",
        RuleKind::Net => "Sockets",
        RuleKind::Signal => "Signals to other processes",
        RuleKind::Proc => "`/proc/<pid>` of other processes",
        RuleKind::Ptrace => "Tracing other processes",
        RuleKind::Capability => "Linux capabilities",
    };
    PossibleValuesParser::new(RuleKind::ALL.map(|k| PossibleValue::new(k.word()).help(about(k))))
        .map(|word| RuleKind::from_word(&word).expect("the parser passes only these words"))
}

/// Profile modes (the policy crate's words).
fn modes() -> impl TypedValueParser<Value = Mode> {
    let about = |mode| match mode {
        Mode::Enforce => "Deny what no rule allows",
        Mode::Complain => "Allow it, and report it",
        Mode::Disabled => "Check nothing",
    };
    PossibleValuesParser::new(Mode::ALL.map(|m| PossibleValue::new(m.word()).help(about(m))))
        .map(|word| Mode::from_word(&word).expect("the parser passes only these words"))
}

/// `bpfbox allow --help`'s closing text, naming every rule kind.
fn allow_help() -> String {
    let kinds = RuleKind::ALL.map(RuleKind::word);
    let (last, others) = kinds.split_last().expect("there are rule kinds");
    format!(
        "\
KIND is {} or {last}. Each KEY=VALUE is a key
of that kind (docs/policy.md): commas separate several values, and a key
given twice gets both. `~` stands for every user's home directory.

  bpfbox allow gedit fs file=~/Notes/** access=read,write
  bpfbox allow /usr/bin/curl net family=inet,inet6 operation=create,connect",
        others.join(", ")
    )
}

/// Shells with completion scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// GNU bash.
    Bash,
    /// Z shell.
    Zsh,
    /// fish.
    Fish,
}

//! Writes the man page (`bpfbox.1`) and the bash, zsh and fish completions
//! into OUT_DIR from the same clap definition the binary parses with, so
//! they cannot drift from the real options. The binary embeds them
//! (`bpfbox man`, `bpfbox completions SHELL`), which is how packagers get
//! them without knowing OUT_DIR.

use std::{env, fs, io, path::PathBuf};

use clap::CommandFactory as _;
use clap_complete::{generate_to, shells};

// The binary reads every field; the build script only needs the definition.
#[allow(dead_code)]
mod args {
    include!("src/args.rs");
}

fn main() -> io::Result<()> {
    println!("cargo::rerun-if-changed=src/args.rs");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut cmd = args::Cli::command();

    let mut man = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut man)?;
    fs::write(out.join("bpfbox.1"), man)?;

    // generate_to names the files itself (bpfbox.bash, _bpfbox,
    // bpfbox.fish); copy them to fixed names the binary can include.
    for (file, generated) in [
        (
            "bpfbox.bash",
            generate_to(shells::Bash, &mut cmd, "bpfbox", &out)?,
        ),
        (
            "bpfbox.zsh",
            generate_to(shells::Zsh, &mut cmd, "bpfbox", &out)?,
        ),
        (
            "bpfbox.fish",
            generate_to(shells::Fish, &mut cmd, "bpfbox", &out)?,
        ),
    ] {
        fs::copy(&generated, out.join(format!("completion-{file}")))?;
    }
    Ok(())
}

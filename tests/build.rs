//! Compiles the benchmark's floor (`bench/floor.bpf.c`): programs that
//! return at once, on exactly bpfbox's hooks. It belongs to the benchmark,
//! not to the daemon's object; it is compiled exactly as bpfbox's programs
//! are, with the compiler and arguments `bpfbox-ebpf`'s build script chose.

use std::{env, path::PathBuf, process::Command};

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let source = dir.join("bench/floor.bpf.c");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("floor.bpf.o");
    println!("cargo:rerun-if-changed={}", source.display());
    let clang = env::var("DEP_BPFBOX_EBPF_CLANG").expect("bpfbox-ebpf names its clang");
    let args = env::var("DEP_BPFBOX_EBPF_ARGS").expect("bpfbox-ebpf names its arguments");
    let status = Command::new(&clang)
        .args(args.split('\x1f'))
        .arg("-c")
        .arg(&source)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("failed to run `{clang}`: {e}"));
    assert!(status.success(), "compiling the benchmark's floor failed");
    println!("cargo:rustc-env=BPFBOX_FLOOR_OBJECT={}", out.display());
}

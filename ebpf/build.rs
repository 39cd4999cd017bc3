//! Compiles `src/bpfbox.bpf.c` into one BPF object and embeds it.
//!
//! clang with `-g` emits the BTF and the CO-RE relocations (field accesses by
//! name) that aya resolves against the running kernel at load time, so one
//! object serves every kernel with BTF. Headers: `include/vmlinux.h` (minimal,
//! hand-kept kernel types), libbpf's `bpf/*.h` and the uapi `linux/bpf.h`.
//!
//! Set `BPF_CLANG` to choose the compiler; otherwise the newest of clang-19,
//! clang-16 and clang found on PATH is used.

use std::{env, path::PathBuf, process::Command};

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("bpfbox.bpf.o");
    for watched in ["src", "include", "build.rs"] {
        println!("cargo:rerun-if-changed={}", dir.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=BPF_CLANG");

    let clang = find_clang();
    let args = clang_args(&dir);
    compile(&clang, &args, &dir.join("src/bpfbox.bpf.c"), &out);
    println!("cargo:rustc-env=BPFBOX_BPF_OBJECT={}", out.display());
    // for crates that compile BPF programs of their own against the same
    // headers (the benchmark's floor, tests/build.rs): DEP_BPFBOX_EBPF_*
    println!("cargo:clang={clang}");
    println!("cargo:args={}", args.join("\x1f"));
}

/// Every argument but the source and the output, one place for all.
fn clang_args(dir: &std::path::Path) -> Vec<String> {
    let include = dir.join("include");
    [
        "-g",
        "-O2",
        "-target",
        "bpf",
        "-D__TARGET_ARCH_x86",
        "-Wall",
        "-Werror",
        "-I",
        include.to_str().expect("a UTF-8 path"),
        // uapi <asm/types.h> lives in the multiarch directory on Debian
        "-idirafter",
        "/usr/include/x86_64-linux-gnu",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn compile(clang: &str, args: &[String], source: &std::path::Path, out: &std::path::Path) {
    let status = Command::new(clang)
        .args(args)
        .arg("-c")
        .arg(source)
        .arg("-o")
        .arg(out)
        .status()
        .unwrap_or_else(|e| panic!("failed to run `{clang}`: {e}"));
    assert!(
        status.success(),
        "compiling the BPF programs failed (needs Debian packages clang, libbpf-dev, linux-libc-dev)"
    );
}

fn find_clang() -> String {
    if let Ok(clang) = env::var("BPF_CLANG") {
        return clang;
    }
    ["clang-19", "clang-16", "clang"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .unwrap_or_else(|| panic!("no clang found: install Debian's `clang` (or set BPF_CLANG)"))
        .to_string()
}

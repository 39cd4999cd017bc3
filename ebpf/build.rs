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
    compile(&clang, &dir, "src/bpfbox.bpf.c", &out);
    println!("cargo:rustc-env=BPFBOX_BPF_OBJECT={}", out.display());
    // the benchmarks' floor: return-at-once programs on the same hooks
    let floor = out.with_file_name("floor.bpf.o");
    compile(&clang, &dir, "src/floor.bpf.c", &floor);
    println!("cargo:rustc-env=BPFBOX_FLOOR_OBJECT={}", floor.display());
}

fn compile(clang: &str, dir: &std::path::Path, source: &str, out: &std::path::Path) {
    let status = Command::new(clang)
        .args([
            "-g",
            "-O2",
            "-target",
            "bpf",
            "-D__TARGET_ARCH_x86",
            "-Wall",
            "-Werror",
        ])
        .arg("-I")
        .arg(dir.join("include"))
        // uapi <asm/types.h> lives in the multiarch directory on Debian
        .args(["-idirafter", "/usr/include/x86_64-linux-gnu"])
        .arg("-c")
        .arg(dir.join(source))
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

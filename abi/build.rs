//! Keeps the Rust mirror honest.
//!
//! `ebpf/include/bpfbox_abi.h` is the single source of the kernel/user ABI.
//! This script compiles a small host program against that header which
//! prints
//!  - every `#define BPFBOX_*` constant, so Rust never retypes a number, and
//!  - the size, field count and every field offset of every `struct bpfbox_*`,
//!
//! into `$OUT_DIR/c_abi.rs`. `src/layout.rs` then asserts at compile time that
//! each `#[repr(C)]` mirror has exactly that size and those offsets, so a
//! change to the header that is not mirrored in Rust breaks the build.
//!
//! The header is parsed with a deliberately small grammar: the header's own
//! rules (fixed-width types, one field per line, no nesting except by name)
//! keep it parseable, and anything unexpected is a build error.

use std::{env, fmt::Write as _, fs, path::PathBuf, process::Command};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let include = manifest.join("../ebpf/include");
    let header = include.join("bpfbox_abi.h");
    println!("cargo:rerun-if-changed={}", header.display());
    let text = fs::read_to_string(&header).expect("read bpfbox_abi.h");

    let defines = parse_defines(&text);
    let structs = parse_structs(&text);
    assert!(
        !structs.is_empty(),
        "no struct bpfbox_* found in {}",
        header.display()
    );

    let mut probe = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include <linux/types.h>\n#include \"bpfbox_abi.h\"\nint main(void) {\n",
    );
    for name in &defines {
        let rust = name.trim_start_matches("BPFBOX_");
        writeln!(
            probe,
            "printf(\"pub const {rust}: %s = %llu;\\n\", sizeof({name}) > 4 ? \"u64\" : \"u32\", (unsigned long long)({name}));"
        )
        .unwrap();
    }
    for (name, fields) in &structs {
        let upper = name.to_uppercase();
        writeln!(
            probe,
            "printf(\"pub const SIZEOF_{upper}: usize = %zu;\\n\", sizeof(struct {name}));"
        )
        .unwrap();
        writeln!(
            probe,
            "printf(\"pub const FIELDS_{upper}: usize = {};\\n\");",
            fields.len()
        )
        .unwrap();
        for field in fields {
            let fu = field.to_uppercase();
            writeln!(
                probe,
                "printf(\"pub const OFFSETOF_{upper}_{fu}: usize = %zu;\\n\", offsetof(struct {name}, {field}));"
            )
            .unwrap();
        }
    }
    // the C filter hash on sample inodes, for the Rust mirror's test
    probe.push_str("printf(\"pub const FILTER_SAMPLES: [(u64, u32, u32); 5] = [\");\n");
    for (ino, dev) in FILTER_SAMPLES {
        writeln!(
            probe,
            "printf(\"({ino}, {dev}, %u), \", bpfbox_filter_bit({ino}ULL, {dev}U));"
        )
        .unwrap();
    }
    probe.push_str("printf(\"];\\n\");\n");
    probe.push_str("return 0;\n}\n");

    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let src = out.join("abi_probe.c");
    let exe = out.join("abi_probe");
    fs::write(&src, probe).unwrap();
    let cc = env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-Wall", "-Werror", "-I"])
        .arg(&include)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status()
        .unwrap_or_else(|e| {
            panic!("failed to run the C compiler `{cc}`: {e} (install gcc or set CC)")
        });
    assert!(
        status.success(),
        "compiling the ABI probe against bpfbox_abi.h failed"
    );
    let output = Command::new(&exe).output().expect("run the ABI probe");
    assert!(output.status.success(), "the ABI probe failed");
    fs::write(out.join("c_abi.rs"), output.stdout).unwrap();
}

/// (ino, dev) pairs whose filter bits C computes for the Rust test: small
/// and large inode numbers, and devices whose bits reach past 32.
const FILTER_SAMPLES: [(u64, u32); 5] = [
    (0, 0),
    (2, 0x0080_0001),
    (131_073, 0x0000_001e),
    (0xffff_ffff_ffff, 0xfff0_0fff),
    (u64::MAX, u32::MAX),
];

/// Object-like `#define BPFBOX_*` macros, include guard excluded.
fn parse_defines(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("#define "))
        .filter_map(|rest| {
            let name = rest.split_whitespace().next()?;
            let is_value = rest.len() > name.len();
            (name.starts_with("BPFBOX_") && is_value && !name.contains('('))
                .then(|| name.to_string())
        })
        .collect()
}

/// `struct bpfbox_x { type name; type name[N]; ... };` → (x, [names]).
fn parse_structs(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut current: Option<(String, Vec<String>)> = None;
    for raw in text.lines() {
        let line = raw.split("/*").next().unwrap().trim();
        if let Some((name, fields)) = current.as_mut() {
            if line.starts_with("};") {
                out.push((name.clone(), std::mem::take(fields)));
                current = None;
            } else if let Some(decl) = line.strip_suffix(';') {
                let ident = decl.rsplit(|c: char| c.is_whitespace()).next().unwrap();
                let ident = ident.split('[').next().unwrap();
                assert!(
                    ident.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "bpfbox_abi.h: cannot parse field `{decl}` of struct {name}"
                );
                fields.push(ident.to_string());
            }
        } else if let Some(rest) = line.strip_prefix("struct bpfbox_") {
            if let Some(name) = rest.strip_suffix(" {") {
                current = Some((format!("bpfbox_{name}"), Vec::new()));
            }
        }
    }
    assert!(current.is_none(), "bpfbox_abi.h: unterminated struct");
    out
}

//! Where a probed function is: a symbol of an executable or shared library
//! (as a file offset, what uprobes attach to), or a kernel function.
//!
//! The policy check (`policy::source`) and the attachment (`probes`) use the
//! same lookup, so a profile that loads is one whose probes can attach.

use std::{
    fs,
    path::{Path, PathBuf},
};

use bpfbox_policy::{split_func, ContextKind, Diagnostic, LoadReport, Problem, Rejected};
use object::{Object as _, ObjectSection as _, ObjectSymbol as _, SymbolKind};

/// Why a function cannot be probed; the message names the function and the
/// file searched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FunctionError(pub String);

/// Where the shared libraries named by file name are looked for, in order.
fn library_dirs() -> Vec<PathBuf> {
    let triple = format!("{}-linux-gnu", std::env::consts::ARCH);
    ["/lib", "/usr/lib"]
        .iter()
        .map(|d| Path::new(d).join(&triple))
        .chain(
            ["/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib"]
                .iter()
                .map(PathBuf::from),
        )
        .collect()
}

/// The file a function lives in: an executable or library by absolute
/// path, or a library by file name, found in the library directories.
/// Symbolic links are resolved: a uprobe belongs to an inode.
pub fn locate(file: &Path) -> Result<PathBuf, FunctionError> {
    let path = if file.is_absolute() {
        file.to_path_buf()
    } else if file.components().count() == 1 {
        library_dirs()
            .into_iter()
            .map(|d| d.join(file))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                let dirs: Vec<String> = library_dirs()
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect();
                FunctionError(format!(
                    "no library `{}` in {}",
                    file.display(),
                    dirs.join(", ")
                ))
            })?
    } else {
        return Err(FunctionError(format!(
            "library `{}` must be an absolute path or a file name",
            file.display()
        )));
    };
    fs::canonicalize(&path)
        .map_err(|e| FunctionError(format!("cannot read {}: {e}", path.display())))
}

/// The file offset of function `symbol` in ELF file `path`: from the full
/// symbol table, else from the exported (dynamic) symbols.
pub fn function_offset(path: &Path, symbol: &str) -> Result<u64, FunctionError> {
    let err = |msg: String| FunctionError(format!("{msg} ({})", path.display()));
    let data = fs::read(path).map_err(|e| err(format!("cannot read the file: {e}")))?;
    let file = object::File::parse(&*data).map_err(|e| err(format!("not an ELF file: {e}")))?;
    let is_it = |s: &object::Symbol<'_, '_>| {
        s.kind() == SymbolKind::Text && s.is_definition() && s.name() == Ok(symbol)
    };
    let found = file
        .symbols()
        .find(|s| is_it(s))
        .or_else(|| file.dynamic_symbols().find(|s| is_it(s)));
    let Some(sym) = found else {
        return Err(if file.symbols().next().is_none() {
            err(format!(
                "no function `{symbol}`: the binary is stripped (no symbol table) and does not export it"
            ))
        } else {
            err(format!("no function `{symbol}` in the binary"))
        });
    };
    let section = sym
        .section_index()
        .and_then(|i| file.section_by_index(i).ok())
        .ok_or_else(|| err(format!("function `{symbol}` is in no section")))?;
    let (section_offset, _) = section.file_range().ok_or_else(|| {
        err(format!(
            "function `{symbol}` is in a section without file data"
        ))
    })?;
    sym.address()
        .checked_sub(section.address())
        .and_then(|o| o.checked_add(section_offset))
        .ok_or_else(|| err(format!("function `{symbol}` lies outside its section")))
}

/// Whether the running kernel has a function `name` (a text symbol of
/// /proc/kallsyms, the kernel's or a loaded module's).
pub fn kernel_function(name: &str) -> Result<(), FunctionError> {
    let symbols = fs::read_to_string("/proc/kallsyms")
        .map_err(|e| FunctionError(format!("cannot read /proc/kallsyms: {e}")))?;
    let found = symbols.lines().any(|line| {
        let mut fields = line.split_whitespace().skip(1);
        matches!(fields.next(), Some("t" | "T")) && fields.next() == Some(name)
    });
    if found {
        Ok(())
    } else {
        Err(FunctionError(format!(
            "no kernel function `{name}` in /proc/kallsyms"
        )))
    }
}

/// A `func` value of the profile for `exe`, resolved: file and offset.
pub fn resolve_func(exe: &Path, spec: &str) -> Result<(PathBuf, u64), FunctionError> {
    let (library, symbol) = split_func(spec);
    let file = locate(library.map_or(exe, Path::new))?;
    let offset = function_offset(&file, symbol)?;
    Ok((file, offset))
}

/// Checks every `func`/`kfunc` of the loaded profiles against this machine
/// and rejects the files naming a function that cannot be probed, as for any
/// other error of the file (its last good version stays in force): a rule
/// whose probe cannot attach would silently never apply.
pub fn check(report: &mut LoadReport) {
    let mut bad = std::collections::BTreeSet::new();
    for used in &report.contexts {
        // an executable not installed yet is checked when it arrives (its
        // installation reloads); until then the kernel starts it tainted
        // and outside every context
        let own = used.kind == ContextKind::Func && split_func(&used.name).0.is_none();
        if own && !used.exe.exists() {
            continue;
        }
        let result = match used.kind {
            ContextKind::Func => resolve_func(&used.exe, &used.name).map(drop),
            ContextKind::Kfunc => kernel_function(&used.name),
        };
        if let Err(FunctionError(reason)) = result {
            report.diagnostics.push(Diagnostic::error(
                &used.file,
                Some(used.location),
                Problem::BadFunction {
                    key: used.kind.word(),
                    name: used.name.clone(),
                    reason,
                },
            ));
            bad.insert(used.file.clone());
        }
    }
    let (rejected, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut report.profiles)
        .into_iter()
        .partition(|p| p.source.as_ref().is_some_and(|f| bad.contains(f)));
    report.profiles = kept;
    report.contexts.retain(|c| !bad.contains(&c.file));
    for profile in rejected {
        report.rejected.push(Rejected {
            file: profile.source.clone().unwrap_or_default(),
            exe: Some(profile.profile),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[no_mangle]
    #[inline(never)]
    extern "C" fn bpfbox_symbols_test_target() -> u32 {
        std::hint::black_box(7)
    }

    #[test]
    fn finds_a_function_of_this_test_binary_at_its_file_offset() {
        let exe = std::env::current_exe().unwrap();
        let offset = function_offset(&exe, "bpfbox_symbols_test_target").unwrap();
        // the bytes at the offset are the function's first instructions
        let data = fs::read(&exe).unwrap();
        let base = bpfbox_symbols_test_target as *const () as *const u8;
        // SAFETY: reads the first 8 bytes of a function's code, mapped
        // readable in this process
        let code = unsafe { std::slice::from_raw_parts(base, 8) };
        assert_eq!(&data[offset as usize..offset as usize + 8], code);
    }

    #[test]
    fn a_missing_function_is_an_error_naming_it_and_the_file() {
        let exe = std::env::current_exe().unwrap();
        let err = function_offset(&exe, "no_such_function_here").unwrap_err();
        assert!(
            err.0.contains("no function `no_such_function_here`"),
            "{err}"
        );
        assert!(err.0.contains(&exe.display().to_string()), "{err}");
    }

    #[test]
    fn an_exported_library_function_is_found_by_library_file_name() {
        let (file, offset) = resolve_func(Path::new("/nonexistent"), "libc.so.6:qsort").unwrap();
        assert!(file.is_absolute() && offset > 0, "{file:?} {offset}");
    }

    #[test]
    fn a_stripped_binary_is_an_error_that_says_so() {
        // Debian ships its programs stripped
        let err = function_offset(Path::new("/usr/bin/ls"), "main").unwrap_err();
        assert!(err.0.contains("stripped"), "{err}");
        assert!(err.0.contains("/usr/bin/ls"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_elf_is_an_error() {
        let err = function_offset(Path::new("/etc/hostname"), "main").unwrap_err();
        assert!(err.0.contains("not an ELF file"), "{err}");
    }
}

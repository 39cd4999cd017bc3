//! Kernel symbol addresses from `/proc/kallsyms`.
//!
//! The programs read two kernel seqcounts (`rename_lock`, `mount_lock`) to
//! know whether a cached file decision may still be used; BTF does not
//! describe global variables on the kernels we support, so their addresses
//! come from here. An address that cannot be found (no `CONFIG_KALLSYMS_ALL`,
//! addresses hidden by `kptr_restrict`) is 0, and the kernel then caches
//! nothing: slower, never wrong.

use std::{fs, io};

/// The file the kernel lists its symbols in.
const KALLSYMS: &str = "/proc/kallsyms";

/// The addresses of the `rename_lock` and `mount_lock` seqlocks (0 = not found).
pub fn seqlock_addresses() -> (u64, u64) {
    match fs::read_to_string(KALLSYMS) {
        Ok(text) => (
            address_of(&text, "rename_lock"),
            address_of(&text, "mount_lock"),
        ),
        Err(err) => {
            warn_unreadable(&err);
            (0, 0)
        }
    }
}

fn warn_unreadable(err: &io::Error) {
    tracing::warn!("cannot read {KALLSYMS} ({err}): file decisions will not be cached");
}

/// The address of data symbol `name` of the kernel proper (not of a module)
/// in kallsyms `text`, or 0 when absent or hidden (listed as 0).
///
/// Searches for the line's end (" name\n") rather than splitting all of
/// its ~150 000 lines: a module's symbol line ends in "[module]", so this
/// finds the kernel's own, and it keeps a debug build's start fast (a
/// line-by-line parse took seconds under emulation).
fn address_of(text: &str, name: &str) -> u64 {
    let needle = format!(" {name}\n");
    let mut from = 0;
    while let Some(found) = text[from..].find(&needle) {
        let name_end = from + found + needle.len() - 1;
        let line_start = text[..from + found].rfind('\n').map_or(0, |i| i + 1);
        let mut fields = text[line_start..name_end].split_whitespace();
        if let (Some(addr), Some(kind), Some(sym), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        {
            if sym == name && matches!(kind, "d" | "D" | "b" | "B") {
                if let Ok(addr) = u64::from_str_radix(addr, 16) {
                    return addr;
                }
            }
        }
        from = name_end;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::address_of;

    const SAMPLE: &str = "\
ffffffff81000000 T _stext
ffffffff82a0b0c0 d mount_lock
ffffffff82a0b100 D rename_lock
ffffffffc0a01000 d rename_lock\t[some_module]
ffffffff81234560 T rename_lock_helper
";

    #[test]
    fn finds_data_symbols_of_the_kernel_proper() {
        assert_eq!(address_of(SAMPLE, "rename_lock"), 0xffff_ffff_82a0_b100);
        assert_eq!(address_of(SAMPLE, "mount_lock"), 0xffff_ffff_82a0_b0c0);
    }

    #[test]
    fn missing_or_hidden_symbols_are_zero() {
        assert_eq!(address_of(SAMPLE, "no_such_lock"), 0);
        assert_eq!(
            address_of("0000000000000000 D rename_lock\n", "rename_lock"),
            0
        );
        assert_eq!(
            address_of("ffffffff81234560 T rename_lock\n", "rename_lock"),
            0
        );
    }
}

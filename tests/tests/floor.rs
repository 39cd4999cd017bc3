//! The benchmarks' floor must sit on exactly bpfbox's hooks, or the ratio
//! to it means nothing.

use object::{Object as _, ObjectSection as _, ObjectSymbol as _};

/// (section, symbol) of every program in an object.
fn programs(elf: &[u8]) -> Vec<(String, String)> {
    let file = object::File::parse(elf).unwrap();
    let mut out: Vec<(String, String)> = file
        .symbols()
        .filter(|s| s.kind() == object::SymbolKind::Text && s.is_global())
        .filter_map(|s| {
            let section = file.section_by_index(s.section_index()?).ok()?;
            Some((section.name().ok()?.to_owned(), s.name().ok()?.to_owned()))
        })
        .filter(|(section, _)| section.starts_with("lsm/") || section.starts_with("tp_btf/"))
        .collect();
    out.sort();
    out
}

#[test]
fn floor_has_the_same_programs_on_the_same_hooks_as_bpfbox() {
    let ours = programs(bpfbox_ebpf::OBJECT);
    let floor = programs(bpfbox_tests::floor::OBJECT);
    assert_eq!(
        ours.len(),
        bpfbox_ebpf::LSM_PROGRAMS.len() + bpfbox_ebpf::TRACEPOINTS.len()
    );
    assert_eq!(floor, ours);
}

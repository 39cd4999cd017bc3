//! The benchmark's floor: programs that return at once, on the same hooks
//! and with the same names as `bpfbox_ebpf::LSM_PROGRAMS` and
//! `TRACEPOINTS` (bench/floor.bpf.c, compiled by build.rs). What they cost
//! is what any BPF-LSM confinement pays for the trampolines alone.

/// ELF objects must be 8-byte aligned for the loader's parser.
#[repr(C, align(8))]
struct Aligned<B: ?Sized>(B);

static ALIGNED: &Aligned<[u8]> = &Aligned(*include_bytes!(env!("BPFBOX_FLOOR_OBJECT")));

/// The compiled floor (ELF, with BTF).
pub static OBJECT: &[u8] = &ALIGNED.0;

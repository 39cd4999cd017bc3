//! Merging the rules that land on one kernel key into its one map value.
//!
//! The compiler and the oracle both merge through here, so they agree even
//! where the kernel's value cannot say exactly what the rules say.
//!
//! A value holds, per action, `access` (any state) and one `(ctx_access,
//! state)` pair (while one of the `state` context bits is set). Unconditional
//! rules simply OR into `access`. Context rules are exact when every context
//! bit ends up granting the same accesses; when they do not (rule A: `read`
//! in `f`, rule B: `write` in `g`, same object), one pair cannot say it, and
//! the merge errs on the safe side: `allow` keeps only the accesses every
//! context grants (never more than the rules give), `taint` and `audit`
//! take the union (tainting or reporting more is safe). The compiler reports
//! such merges.

use bpfbox_abi as abi;

use crate::access::Actions;

/// Accumulates the rules of one key.
#[derive(Clone, Debug, Default)]
pub(crate) struct EntryBuilder {
    /// allow, taint, audit: accesses in any state.
    always: [u32; 3],
    /// Context rules: (state mask, [allow, taint, audit]).
    contextual: Vec<(u64, [u32; 3])>,
}

const SLOTS: [Actions; 3] = [Actions::ALLOW, Actions::TAINT, Actions::AUDIT];

impl EntryBuilder {
    /// Adds a rule's access under its actions; `state` 0 means the rule has
    /// no context.
    pub(crate) fn add(&mut self, actions: Actions, access: u32, state: u64) {
        let mut by_slot = [0u32; 3];
        for (slot, action) in SLOTS.iter().enumerate() {
            if actions.contains(*action) {
                by_slot[slot] = access;
            }
        }
        if state == 0 {
            for (a, b) in self.always.iter_mut().zip(by_slot) {
                *a |= b;
            }
        } else if let Some((_, acc)) = self.contextual.iter_mut().find(|(s, _)| *s == state) {
            for (a, b) in acc.iter_mut().zip(by_slot) {
                *a |= b;
            }
        } else {
            self.contextual.push((state, by_slot));
        }
    }

    /// The map value, and whether the merge had to approximate.
    pub(crate) fn build(&self) -> (abi::Rule, bool) {
        let mut lossy = false;
        let mut access = |slot: usize| {
            let (a, approx) = self.slot(slot);
            lossy |= approx;
            a
        };
        let rule = abi::Rule {
            allow: access(0),
            taint: access(1),
            audit: access(2),
        };
        (rule, lossy)
    }

    fn slot(&self, slot: usize) -> (abi::Access, bool) {
        let always = self.always[slot];
        // what each context adds beyond the unconditional accesses
        let extra: Vec<(u64, u32)> = self
            .contextual
            .iter()
            .map(|(state, acc)| (*state, acc[slot] & !always))
            .filter(|&(_, acc)| acc != 0)
            .collect();
        let state = extra.iter().fold(0, |m, &(s, _)| m | s);
        if state == 0 {
            return (plain(always), false);
        }
        // what each single context bit grants
        let per_bit: Vec<u32> = (0..64)
            .filter(|b| state & (1u64 << b) != 0)
            .map(|b| {
                extra
                    .iter()
                    .filter(|&&(s, _)| s & (1u64 << b) != 0)
                    .fold(0, |m, &(_, a)| m | a)
            })
            .collect();
        let union = per_bit.iter().fold(0, |m, &a| m | a);
        let exact = per_bit.iter().all(|&a| a == union);
        let ctx_access = if exact || slot != 0 {
            union
        } else {
            per_bit.iter().fold(u32::MAX, |m, &a| m & a)
        };
        let access = abi::Access {
            access: always,
            ctx_access,
            state: if ctx_access == 0 { 0 } else { state },
        };
        (access, !exact)
    }
}

const fn plain(access: u32) -> abi::Access {
    abi::Access {
        access,
        ctx_access: 0,
        state: 0,
    }
}

/// ORs two map values: what the kernel does with the values of all the keys
/// that cover one object (evaluated per key, then united).
pub(crate) fn effective(rule: &abi::Rule, state: u64) -> [u32; 3] {
    [
        rule.allow.effective(state),
        rule.taint.effective(state),
        rule.audit.effective(state),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: u32 = abi::FS_READ;
    const W: u32 = abi::FS_WRITE;

    #[test]
    fn unconditional_rules_or_together() {
        let mut b = EntryBuilder::default();
        b.add(Actions::ALLOW, R, 0);
        b.add(Actions::ALLOW | Actions::TAINT, W, 0);
        let (rule, lossy) = b.build();
        assert!(!lossy);
        assert_eq!(rule.allow, plain(R | W));
        assert_eq!(rule.taint, plain(W));
        assert_eq!(rule.audit, plain(0));
    }

    #[test]
    fn a_context_rule_does_not_widen_an_unconditional_one() {
        let mut b = EntryBuilder::default();
        b.add(Actions::ALLOW, R, 0);
        b.add(Actions::ALLOW, W, 0b1);
        let (rule, lossy) = b.build();
        assert!(!lossy);
        assert_eq!(rule.allow.effective(0), R);
        assert_eq!(rule.allow.effective(0b1), R | W);
    }

    #[test]
    fn context_rules_granting_the_same_access_merge_exactly() {
        let mut b = EntryBuilder::default();
        b.add(Actions::ALLOW, R, 0b01);
        b.add(Actions::ALLOW, R, 0b10);
        let (rule, lossy) = b.build();
        assert!(!lossy);
        assert_eq!(rule.allow.effective(0b10), R);
        assert_eq!(rule.allow.effective(0b100), 0);
    }

    #[test]
    fn conflicting_context_rules_allow_only_what_every_context_grants() {
        let mut b = EntryBuilder::default();
        b.add(Actions::ALLOW | Actions::TAINT, R, 0b01);
        b.add(Actions::ALLOW | Actions::TAINT, R | W, 0b10);
        let (rule, lossy) = b.build();
        assert!(lossy);
        // allow narrowed: W is not granted even in context 0b10
        assert_eq!(rule.allow.effective(0b10), R);
        assert_eq!(rule.allow.effective(0b01), R);
        // taint widened: W taints in context 0b01 too
        assert_eq!(rule.taint.effective(0b01), R | W);
    }
}

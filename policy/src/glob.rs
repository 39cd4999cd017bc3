//! Path patterns of `[[fs]] file`: absolute paths with shell wildcards, `**`
//! subtrees and the home placeholder `~`.
//!
//! Syntax (the one of Python's `glob(recursive=True)` that bpfbox used, and
//! of the `glob` crate the daemon expands with):
//!  - `*` any run of characters within one path component, `?` one
//!    character, `[abc]`, `[a-z]`, `[!abc]` one character of (not of) a set;
//!    none of them matches `/`. Unlike a shell they do match a leading dot:
//!    `*` covers `.hidden` (bpfbox's `/**` was meant as "everything").
//!  - `**` as a whole component: zero or more components. `dir/**` is the
//!    directory `dir` itself and everything below it.
//!  - `~` as the first component: every user's home directory.
//!  - No escapes: a literal `*`, `?` or `[` is written `[*]`, `[?]`, `[[]`.
//!
//! Matching here is pure string matching on normalized absolute paths: no
//! symlink is followed, no file system is read.

use std::fmt;

/// Why a pattern is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GlobError {
    /// Neither `/…` nor `~`, `~/…`.
    #[error("expected an absolute path (starting with `/`) or `~/` for the home directories")]
    NotAbsolute,
    /// `~user/…`
    #[error("`~` must stand alone as the first component (`~/…`); `~user` is not supported")]
    TildeUser,
    /// `//`, or a `/` at the end.
    #[error("empty path component (`//` or a trailing `/`); write `dir` for a directory itself, `dir/**` for everything in it")]
    EmptyComponent,
    /// `.` or `..`.
    #[error("`.` and `..` components are not allowed; write the normalized path")]
    DotComponent,
    /// `a**`, `**b`.
    #[error("`**` must be a whole path component (`dir/**`, `dir/**/name`)")]
    PartialDoubleStar,
    /// `[abc` without `]`.
    #[error("unclosed `[` character class")]
    UnclosedClass,
    /// A NUL byte.
    #[error("paths cannot contain NUL")]
    Nul,
    /// A component longer than `NAME_MAX`.
    #[error("path component longer than 255 bytes")]
    NameTooLong,
    /// The whole pattern is too long.
    #[error("pattern longer than 4096 bytes")]
    TooLong,
}

/// One character matcher inside a wildcard component.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Char(char),
    /// `?`
    One,
    /// `*`
    Star,
    /// `[...]`, `[!...]`: inclusive ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Tok {
    fn matches(&self, c: char) -> bool {
        match self {
            Self::Char(x) => *x == c,
            Self::One => true,
            Self::Star => false,
            Self::Class { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }
}

/// One component of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Lit(String),
    Wild(Vec<Tok>),
    /// `**`
    Deep,
}

/// A parsed path pattern. Equality is the text as written.
#[derive(Clone)]
pub struct PathPattern {
    text: String,
    home: bool,
    segs: Vec<Seg>,
    /// How to compile it, worked out once.
    plan: Plan,
}

impl PartialEq for PathPattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}
impl Eq for PathPattern {}

impl fmt::Debug for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PathPattern({:?})", self.text)
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// How the compiler turns one (home-expanded) pattern into kernel keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A plain path: CHILD key of its name in its directory, INODE key of
    /// the object if it exists.
    Exact(String),
    /// `dir/**` with a plain `dir`: SUBTREE key on `dir`.
    Subtree(String),
    /// `prefix/**` with wildcards in `prefix`: SUBTREE on every existing match
    /// of the prefix (a glob pattern).
    ExpandSubtree(String),
    /// Any other wildcard pattern: `Exact` for every existing match.
    Expand(String),
}

/// Which kernel key covers a matching path, as the oracle groups rules: the
/// exact path (CHILD and INODE keys), or a subtree root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchKey {
    /// The CHILD/INODE keys of this path.
    Exact(String),
    /// The SUBTREE key of this directory.
    Subtree(String),
}

/// The kernel looks for SUBTREE rules on the object and at most this many
/// levels in all (`BPFBOX_MAX_ANCESTORS`): an object deeper below a subtree
/// root than this is not covered by it.
pub const MAX_SUBTREE_DEPTH: usize = bpfbox_abi::MAX_ANCESTORS as usize - 1;

impl PathPattern {
    /// Parses and validates a pattern.
    pub fn parse(text: &str) -> Result<Self, GlobError> {
        if text.len() > 4096 {
            return Err(GlobError::TooLong);
        }
        if text.contains('\0') {
            return Err(GlobError::Nul);
        }
        let (home, rest) = if text == "~" {
            (true, "")
        } else if let Some(rest) = text.strip_prefix("~/") {
            (true, rest)
        } else if text.starts_with('~') {
            return Err(GlobError::TildeUser);
        } else if let Some(rest) = text.strip_prefix('/') {
            (false, rest)
        } else {
            return Err(GlobError::NotAbsolute);
        };
        let mut segs: Vec<Seg> = Vec::new();
        if !rest.is_empty() {
            for comp in rest.split('/') {
                let seg = parse_component(comp)?;
                // `a/**/**` means the same as `a/**`
                if seg == Seg::Deep && segs.last() == Some(&Seg::Deep) {
                    continue;
                }
                segs.push(seg);
            }
        }
        Ok(Self {
            text: text.to_owned(),
            home,
            plan: plan_of(&segs),
            segs,
        })
    }

    /// The pattern as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern starts with the home placeholder `~`.
    #[must_use]
    pub const fn is_home(&self) -> bool {
        self.home
    }

    /// The absolute patterns this one stands for: itself, or one per home.
    /// With no homes a `~` pattern stands for nothing (it covers nothing).
    #[must_use]
    pub fn expand_home(&self, homes: &[String]) -> Vec<Self> {
        if !self.home {
            return vec![self.clone()];
        }
        homes
            .iter()
            .filter(|home| is_normal_absolute(home))
            .map(|home| {
                // a home is a literal path, even if it contains `*`
                let mut segs: Vec<Seg> = components(home)
                    .into_iter()
                    .map(|c| Seg::Lit(c.to_owned()))
                    .collect();
                segs.extend(self.segs.iter().cloned());
                let rest = &self.text[1..];
                let text = format!("{}{rest}", home.trim_end_matches('/'));
                Self {
                    plan: plan_of(&segs),
                    text: if text.is_empty() {
                        "/".to_owned()
                    } else {
                        text
                    },
                    home: false,
                    segs,
                }
            })
            .collect()
    }

    /// How to compile this pattern. Call on home-expanded patterns only.
    #[must_use]
    pub fn plan(&self) -> &Plan {
        debug_assert!(!self.home, "expand the home placeholder first");
        &self.plan
    }

    /// Whether `path` (normalized, absolute) matches the whole pattern.
    #[must_use]
    pub fn matches(&self, path: &str) -> bool {
        !self.home && match_segs(&self.segs, &components(path))
    }

    /// The keys through which the kernel would cover `path` with this
    /// (home-expanded) pattern, for existing paths: empty if it does not.
    #[must_use]
    pub fn match_keys(&self, path: &str) -> Vec<MatchKey> {
        if self.home {
            return Vec::new();
        }
        let comps = components(path);
        match self.segs.split_last() {
            Some((Seg::Deep, prefix)) => {
                // every ancestor (or the path itself) that the prefix
                // matches, within the kernel's walk
                let low = comps.len().saturating_sub(MAX_SUBTREE_DEPTH);
                (low..=comps.len())
                    .filter(|&k| match_segs(prefix, &comps[..k]))
                    .map(|k| MatchKey::Subtree(join(&comps[..k])))
                    .collect()
            }
            _ if match_segs(&self.segs, &comps) => vec![MatchKey::Exact(join(&comps))],
            _ => Vec::new(),
        }
    }
}

/// Checks a plain absolute path (an executable, a target profile): no
/// wildcards are interpreted, but it must be normalized.
pub fn check_plain_path(text: &str) -> Result<(), GlobError> {
    if text.len() > 4096 {
        return Err(GlobError::TooLong);
    }
    if text.contains('\0') {
        return Err(GlobError::Nul);
    }
    let Some(rest) = text.strip_prefix('/') else {
        return Err(GlobError::NotAbsolute);
    };
    if rest.is_empty() {
        return Ok(());
    }
    for comp in rest.split('/') {
        match comp {
            "" => return Err(GlobError::EmptyComponent),
            "." | ".." => return Err(GlobError::DotComponent),
            c if c.len() > bpfbox_abi::NAME_MAX as usize => return Err(GlobError::NameTooLong),
            _ => {}
        }
    }
    Ok(())
}

fn plan_of(segs: &[Seg]) -> Plan {
    let wild = |segs: &[Seg]| segs.iter().any(|s| !matches!(s, Seg::Lit(_)));
    match segs.split_last() {
        Some((Seg::Deep, prefix)) if !wild(prefix) => Plan::Subtree(render(prefix)),
        Some((Seg::Deep, prefix)) => Plan::ExpandSubtree(render(prefix)),
        _ if !wild(segs) => Plan::Exact(render(segs)),
        _ => Plan::Expand(render(segs)),
    }
}

fn parse_component(comp: &str) -> Result<Seg, GlobError> {
    match comp {
        "" => return Err(GlobError::EmptyComponent),
        "." | ".." => return Err(GlobError::DotComponent),
        "**" => return Ok(Seg::Deep),
        _ => {}
    }
    if comp.len() > bpfbox_abi::NAME_MAX as usize {
        return Err(GlobError::NameTooLong);
    }
    if !comp.contains(['*', '?', '[']) {
        return Ok(Seg::Lit(comp.to_owned()));
    }
    if comp.contains("**") {
        return Err(GlobError::PartialDoubleStar);
    }
    let mut toks = Vec::new();
    let mut chars = comp.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => toks.push(Tok::Star),
            '?' => toks.push(Tok::One),
            '[' => {
                let negated = chars.next_if_eq(&'!').is_some();
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let Some(lo) = chars.next() else {
                        return Err(GlobError::UnclosedClass);
                    };
                    if lo == ']' && !first {
                        break;
                    }
                    first = false;
                    // `a-z`, but a `-` before `]` is literal
                    let hi = if chars.peek() == Some(&'-') {
                        let mut ahead = chars.clone();
                        ahead.next();
                        match ahead.peek() {
                            Some(&hi) if hi != ']' => {
                                chars.next();
                                chars.next();
                                hi
                            }
                            _ => lo,
                        }
                    } else {
                        lo
                    };
                    ranges.push((lo, hi));
                }
                toks.push(Tok::Class { negated, ranges });
            }
            c => toks.push(Tok::Char(c)),
        }
    }
    Ok(Seg::Wild(toks))
}

/// Renders components as a glob-crate pattern: literal components escape
/// the characters the glob crate would read as wildcards.
fn render(segs: &[Seg]) -> String {
    if segs.is_empty() {
        return "/".to_owned();
    }
    let mut out = String::new();
    for seg in segs {
        out.push('/');
        match seg {
            Seg::Lit(s) => {
                for c in s.chars() {
                    match c {
                        '*' | '?' | '[' | ']' => {
                            out.push('[');
                            out.push(c);
                            out.push(']');
                        }
                        c => out.push(c),
                    }
                }
            }
            Seg::Deep => out.push_str("**"),
            Seg::Wild(toks) => {
                for tok in toks {
                    render_tok(tok, &mut out);
                }
            }
        }
    }
    out
}

fn render_tok(tok: &Tok, out: &mut String) {
    match tok {
        Tok::Char(c) => out.push(*c),
        Tok::One => out.push('?'),
        Tok::Star => out.push('*'),
        Tok::Class { negated, ranges } => {
            out.push('[');
            if *negated {
                out.push('!');
            }
            for &(lo, hi) in ranges {
                out.push(lo);
                if lo != hi {
                    out.push('-');
                    out.push(hi);
                }
            }
            out.push(']');
        }
    }
}

/// Whether `path` is absolute without `.` or `..` components.
fn is_normal_absolute(path: &str) -> bool {
    path.starts_with('/') && components(path).iter().all(|c| *c != "." && *c != "..")
}

/// The components of a path: empty ones (`//`, a trailing `/`) are dropped.
fn components(path: &str) -> Vec<&str> {
    path.split('/').filter(|c| !c.is_empty()).collect()
}

fn join(comps: &[&str]) -> String {
    if comps.is_empty() {
        "/".to_owned()
    } else {
        comps.iter().fold(String::new(), |mut acc, c| {
            acc.push('/');
            acc.push_str(c);
            acc
        })
    }
}

/// Whole-path matching: `reach[j]` says the segments so far can consume
/// exactly the first `j` components. Polynomial whatever the pattern, so a
/// hostile profile cannot make matching blow up.
fn match_segs(segs: &[Seg], comps: &[&str]) -> bool {
    let mut reach = vec![false; comps.len() + 1];
    reach[0] = true;
    for seg in segs {
        let mut next = vec![false; comps.len() + 1];
        match seg {
            Seg::Deep => {
                let mut any = false;
                for j in 0..=comps.len() {
                    any |= reach[j];
                    next[j] = any;
                }
            }
            Seg::Lit(lit) => {
                for j in 0..comps.len() {
                    next[j + 1] = reach[j] && comps[j] == lit;
                }
            }
            Seg::Wild(toks) => {
                for j in 0..comps.len() {
                    next[j + 1] = reach[j] && match_component(toks, comps[j]);
                }
            }
        }
        reach = next;
        if !reach.contains(&true) {
            return false;
        }
    }
    reach[comps.len()]
}

/// Wildcard matching within one component: greedy with one backtrack point
/// per `*`, which is exact for single-character matchers and O(n·m).
fn match_component(toks: &[Tok], name: &str) -> bool {
    let chars: Vec<char> = name.chars().collect();
    let (mut t, mut c) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while c < chars.len() {
        if t < toks.len() && toks[t] != Tok::Star && toks[t].matches(chars[c]) {
            t += 1;
            c += 1;
        } else if t < toks.len() && toks[t] == Tok::Star {
            star = Some((t, c));
            t += 1;
        } else if let Some((st, sc)) = star {
            t = st + 1;
            c = sc + 1;
            star = Some((st, sc + 1));
        } else {
            return false;
        }
    }
    toks[t..].iter().all(|tok| *tok == Tok::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> PathPattern {
        PathPattern::parse(text).unwrap()
    }

    #[test]
    fn plain_path_matches_only_itself() {
        assert!(p("/etc/passwd").matches("/etc/passwd"));
        assert!(!p("/etc/passwd").matches("/etc/passwd2"));
        assert!(!p("/etc/passwd").matches("/etc"));
        assert!(!p("/etc").matches("/etc/passwd"));
    }

    #[test]
    fn double_star_at_the_end_is_the_directory_and_everything_below() {
        let pat = p("/tmp/x/**");
        assert!(pat.matches("/tmp/x"));
        assert!(pat.matches("/tmp/x/a"));
        assert!(pat.matches("/tmp/x/a/b/c"));
        assert!(!pat.matches("/tmp/xy"));
        assert!(!pat.matches("/tmp"));
        assert!(p("/**").matches("/"));
        assert!(p("/**").matches("/anything/at/all"));
    }

    #[test]
    fn double_star_in_the_middle_is_zero_or_more_components() {
        let pat = p("/a/**/b");
        assert!(pat.matches("/a/b"));
        assert!(pat.matches("/a/x/b"));
        assert!(pat.matches("/a/x/y/b"));
        assert!(!pat.matches("/a/x/y/c"));
    }

    #[test]
    fn star_stays_within_one_component_and_matches_dotfiles() {
        let pat = p("/usr/lib/*.so");
        assert!(pat.matches("/usr/lib/libc.so"));
        assert!(pat.matches("/usr/lib/.so"));
        assert!(!pat.matches("/usr/lib/x/libc.so"));
        assert!(p("/home/*/x").matches("/home/alice/x"));
        assert!(p("/h/*").matches("/h/.hidden"));
    }

    #[test]
    fn question_mark_and_classes_match_one_character() {
        assert!(p("/a/?").matches("/a/é"));
        assert!(!p("/a/?").matches("/a/ab"));
        assert!(p("/a/[bc]x").matches("/a/cx"));
        assert!(!p("/a/[!bc]x").matches("/a/cx"));
        assert!(p("/a/[a-z]").matches("/a/q"));
        assert!(!p("/a/[a-z]").matches("/a/Q"));
        assert!(p("/a/[]]").matches("/a/]"));
        assert!(p("/a/[a-]").matches("/a/-"));
        assert!(p("/a/[*]").matches("/a/*"));
        assert!(!p("/a/[*]").matches("/a/b"));
    }

    #[test]
    fn star_backtracks_correctly() {
        assert!(p("/a/*ab*ab").matches("/a/xabyabab"));
        assert!(!p("/a/*ab*abc").matches("/a/xabyabab"));
        assert!(p("/a/*").matches("/a/anything"));
    }

    #[test]
    fn invalid_patterns_are_rejected_with_a_reason() {
        let err = |t: &str| PathPattern::parse(t).unwrap_err();
        assert_eq!(err("etc/passwd"), GlobError::NotAbsolute);
        assert_eq!(err("~alice/x"), GlobError::TildeUser);
        assert_eq!(err("/a//b"), GlobError::EmptyComponent);
        assert_eq!(err("/a/"), GlobError::EmptyComponent);
        assert_eq!(err("/a/../b"), GlobError::DotComponent);
        assert_eq!(err("/a/b**"), GlobError::PartialDoubleStar);
        assert_eq!(err("/a/[bc"), GlobError::UnclosedClass);
        assert_eq!(
            err(&format!("/{}", "x".repeat(256))),
            GlobError::NameTooLong
        );
    }

    #[test]
    fn plans_follow_the_compilation_rules() {
        assert_eq!(p("/a/b/c").plan(), &Plan::Exact("/a/b/c".into()));
        assert_eq!(p("/a/**").plan(), &Plan::Subtree("/a".into()));
        assert_eq!(p("/**").plan(), &Plan::Subtree("/".into()));
        assert_eq!(p("/a/**/**").plan(), &Plan::Subtree("/a".into()));
        assert_eq!(
            p("/home/*/x/**").plan(),
            &Plan::ExpandSubtree("/home/*/x".into())
        );
        assert_eq!(
            p("/usr/lib/*.so").plan(),
            &Plan::Expand("/usr/lib/*.so".into())
        );
        assert_eq!(p("/a/**/b").plan(), &Plan::Expand("/a/**/b".into()));
        assert_eq!(p("/").plan(), &Plan::Exact("/".into()));
    }

    #[test]
    fn literal_components_are_escaped_for_the_glob_crate() {
        let homes = ["/home/we*rd".to_owned()];
        let pat = &p("~/a/*").expand_home(&homes).into_iter().next().unwrap();
        assert_eq!(pat.plan(), &Plan::Expand("/home/we[*]rd/a/*".into()));
        assert!(pat.matches("/home/we*rd/a/b"));
        assert!(!pat.matches("/home/weXrd/a/b"));
    }

    #[test]
    fn home_placeholder_expands_for_every_home() {
        let homes = ["/root".to_owned(), "/home/alice".to_owned()];
        let expanded = p("~/.config/app/**").expand_home(&homes);
        let texts: Vec<_> = expanded.iter().map(PathPattern::as_str).collect();
        assert_eq!(
            texts,
            ["/root/.config/app/**", "/home/alice/.config/app/**"]
        );
        assert!(expanded[1].matches("/home/alice/.config/app/x"));
        assert_eq!(
            p("~").expand_home(&homes)[1].plan(),
            &Plan::Exact("/home/alice".into())
        );
        assert!(p("~/x").expand_home(&[]).is_empty());
        assert!(
            !p("~/x").matches("/root/x"),
            "unexpanded home matches nothing"
        );
    }

    #[test]
    fn match_keys_name_the_kernel_key_that_covers_the_path() {
        assert_eq!(
            p("/a/**").match_keys("/a/b/c"),
            [MatchKey::Subtree("/a".into())]
        );
        assert_eq!(
            p("/a/*/c").match_keys("/a/b/c"),
            [MatchKey::Exact("/a/b/c".into())]
        );
        // `/x/**/y/**` on /x/y/y/z: two subtree roots cover it
        assert_eq!(
            p("/x/**/y/**").match_keys("/x/y/y/z"),
            [
                MatchKey::Subtree("/x/y".into()),
                MatchKey::Subtree("/x/y/y".into())
            ]
        );
    }

    #[test]
    fn subtree_rules_reach_only_as_deep_as_the_kernel_walks() {
        let deep = |n: usize| format!("/a{}", "/d".repeat(n));
        assert_eq!(p("/a/**").match_keys(&deep(MAX_SUBTREE_DEPTH)).len(), 1);
        assert!(p("/a/**")
            .match_keys(&deep(MAX_SUBTREE_DEPTH + 1))
            .is_empty());
    }

    #[test]
    fn matching_is_polynomial_on_hostile_patterns() {
        let pat = p(&format!("/{}x", "**/".repeat(50)));
        let path = format!("/{}", "a/".repeat(200));
        assert!(!pat.matches(&path));
        let pat = p(&format!("/{}b", "*a".repeat(100)));
        assert!(!pat.matches(&format!("/{}", "a".repeat(250))));
    }
}

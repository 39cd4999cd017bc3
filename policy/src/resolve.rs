//! What the compiler needs to know about the machine, behind a trait so the
//! crate stays pure: the daemon implements it with `statx` and mountinfo,
//! tests and benchmarks with [`StaticResolver`].

use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
};

use bpfbox_abi::InodeKey;

use crate::glob::PathPattern;

/// The machine, as the compiler sees it.
pub trait Resolver {
    /// The identity of the existing object `path` names, following symlinks
    /// (as `open` would), in the kernel's encoding: `i_ino` and the
    /// superblock's `s_dev` ([`bpfbox_abi::kernel_dev`]). `None` if it does
    /// not exist or cannot be examined.
    fn inode(&self, path: &Path) -> Option<InodeKey>;

    /// The existing paths matching `pattern`, a glob in the syntax of the
    /// `glob` crate (`*`, `?`, `[...]`, `[!...]`, `**`). Results the
    /// compiler's own matcher rejects are ignored, so a more generous
    /// expansion never widens a rule.
    fn expand(&self, pattern: &str) -> Vec<PathBuf>;

    /// The home directories that `~` stands for.
    fn homes(&self) -> Vec<PathBuf>;

    /// `path` as the kernel names the file there: every symbolic link on
    /// the way resolved, the part that does not exist yet appended as
    /// written. The exec hook matches executables by this name (bpf_d_path).
    fn real_path(&self, path: &Path) -> PathBuf;
}

/// An in-memory machine: for tests, benchmarks and fuzzing.
#[derive(Clone, Debug, Default)]
pub struct StaticResolver {
    /// Ordered, for expansion by directory.
    paths: BTreeMap<PathBuf, InodeKey>,
    /// The same, for fast lookups.
    index: HashMap<PathBuf, InodeKey>,
    homes: Vec<PathBuf>,
    /// Symbolic links: link → target (absolute).
    links: BTreeMap<PathBuf, PathBuf>,
    next_ino: u64,
}

/// The device every [`StaticResolver`] object is on (8:1).
pub const STATIC_DEV: u32 = bpfbox_abi::kernel_dev(8, 1);

impl StaticResolver {
    /// An empty machine: only `/` exists.
    #[must_use]
    pub fn new() -> Self {
        let mut r = Self {
            next_ino: 2,
            ..Self::default()
        };
        r.add("/");
        r
    }

    /// Makes `path` and its missing ancestors exist, each with a new inode;
    /// returns the identity of `path`.
    pub fn add(&mut self, path: impl AsRef<Path>) -> InodeKey {
        let path = path.as_ref();
        for ancestor in path.ancestors().collect::<Vec<_>>().into_iter().rev() {
            if !self.paths.contains_key(ancestor) {
                self.next_ino += 1;
                let key = InodeKey {
                    ino: self.next_ino,
                    dev: STATIC_DEV,
                    _pad: 0,
                };
                self.paths.insert(ancestor.to_owned(), key);
                self.index.insert(ancestor.to_owned(), key);
            }
        }
        self.paths[path]
    }

    /// Makes `alias` resolve to the object `target` (a symlink or a hard
    /// link: the identity is the same).
    pub fn alias(&mut self, alias: impl AsRef<Path>, target: impl AsRef<Path>) {
        let key = self.add(target);
        if let Some(parent) = alias.as_ref().parent() {
            self.add(parent);
        }
        self.paths.insert(alias.as_ref().to_owned(), key);
        self.index.insert(alias.as_ref().to_owned(), key);
    }

    /// Makes `link` a symbolic link to `target` (absolute): it resolves to
    /// the object `target` names, and [`Resolver::real_path`] follows it.
    pub fn symlink(&mut self, link: impl AsRef<Path>, target: impl AsRef<Path>) {
        self.alias(link.as_ref(), target.as_ref());
        self.links
            .insert(link.as_ref().to_owned(), target.as_ref().to_owned());
    }

    /// Adds a home directory (and makes it exist).
    pub fn add_home(&mut self, path: impl AsRef<Path>) {
        self.add(path.as_ref());
        self.homes.push(path.as_ref().to_owned());
    }

    /// Removes `path` and everything below it.
    pub fn remove(&mut self, path: impl AsRef<Path>) {
        let path = path.as_ref();
        self.paths.retain(|p, _| !p.starts_with(path));
        self.index.retain(|p, _| !p.starts_with(path));
    }
}

impl Resolver for StaticResolver {
    fn inode(&self, path: &Path) -> Option<InodeKey> {
        self.index
            .get(path)
            .or_else(|| self.index.get(&self.real_path(path)))
            .copied()
    }

    fn expand(&self, pattern: &str) -> Vec<PathBuf> {
        let Ok(matcher) = PathPattern::parse(pattern) else {
            return Vec::new();
        };
        // only the subtree of the pattern's literal directory can match, as
        // a real glob walks only that directory
        let literal: Vec<&str> = pattern
            .split('/')
            .take_while(|c| !c.contains(['*', '?', '[']))
            .collect();
        let base = PathBuf::from(format!("{}/", literal.join("/")));
        self.paths
            .range(base.clone()..)
            .take_while(|(p, _)| p.starts_with(&base))
            .map(|(p, _)| p)
            .filter(|p| p.to_str().is_some_and(|s| matcher.matches(s)))
            .cloned()
            .collect()
    }

    fn homes(&self) -> Vec<PathBuf> {
        self.homes.clone()
    }

    fn real_path(&self, path: &Path) -> PathBuf {
        let mut real = PathBuf::from("/");
        // a bound on link chains, as the kernel has (40)
        let mut hops = 0;
        for part in path.components().skip(1) {
            real.push(part);
            while let Some(target) = self.links.get(&real).filter(|_| hops < 40) {
                real.clone_from(target);
                hops += 1;
            }
        }
        real
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_a_path_creates_its_ancestors() {
        let mut r = StaticResolver::new();
        let file = r.add("/a/b/c");
        assert!(r.inode(Path::new("/a")).is_some());
        assert!(r.inode(Path::new("/a/b")).is_some());
        assert_eq!(r.inode(Path::new("/a/b/c")), Some(file));
        assert_eq!(r.add("/a/b/c"), file, "adding twice keeps the identity");
    }

    #[test]
    fn expansion_matches_existing_paths_only() {
        let mut r = StaticResolver::new();
        r.add("/usr/lib/libc.so");
        r.add("/usr/lib/libm.so");
        r.add("/usr/lib/x.txt");
        let found = r.expand("/usr/lib/*.so");
        assert_eq!(
            found,
            [
                PathBuf::from("/usr/lib/libc.so"),
                PathBuf::from("/usr/lib/libm.so")
            ]
        );
    }

    #[test]
    fn real_paths_follow_symbolic_links_on_the_way() {
        let mut r = StaticResolver::new();
        r.add("/usr/bin/cat");
        r.symlink("/bin", "/usr/bin");
        r.add("/usr/lib/x/x");
        r.symlink("/etc/alternatives/x", "/usr/lib/x/x");
        r.symlink("/usr/bin/x", "/etc/alternatives/x");
        assert_eq!(
            r.real_path(Path::new("/bin/cat")),
            Path::new("/usr/bin/cat")
        );
        assert_eq!(r.real_path(Path::new("/bin/x")), Path::new("/usr/lib/x/x"));
        assert_eq!(
            r.real_path(Path::new("/bin/new/app")),
            Path::new("/usr/bin/new/app"),
            "the missing rest is appended"
        );
    }

    #[test]
    fn aliases_share_the_identity() {
        let mut r = StaticResolver::new();
        r.alias("/lib", "/usr/lib");
        assert_eq!(r.inode(Path::new("/lib")), r.inode(Path::new("/usr/lib")));
    }
}

//! Flood control: repeats of one denial update one notification, and an app
//! that is denied many different things gets a few notifications and then
//! one summary instead of a wall of them.
//!
//! Time is passed in as [`Instant`]s so that the rules are tested without
//! waiting. The caller must call [`Flood::due`] before [`Flood::denied`] at
//! the same instant, so that a summary that is due goes out before a new
//! window starts.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

/// The limits, as notifier.toml's `[flood]` table sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Identical denials this close to the last one update its notification.
    pub coalesce: Duration,
    /// At most this many notifications per app per window.
    pub per_app: u32,
    /// The per-app window.
    pub app_window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            coalesce: Duration::from_secs(60),
            per_app: 3,
            app_window: Duration::from_secs(30),
        }
    }
}

/// What makes two denials the same: the profile, the object and the access.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// The profile's executable.
    pub executable: String,
    /// The object, as the event names it.
    pub object: String,
    /// The access words.
    pub access: String,
}

/// What to do with a denial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Show a new notification.
    Show,
    /// Update the notification that shows this denial already; `count` is
    /// how many times it happened in all.
    Update {
        /// The total.
        count: u32,
    },
    /// The app used up its notifications for now; the denial is counted for
    /// its summary.
    HeldBack,
}

/// A summary that is due: `count` denials of `executable` were held back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The profile's executable.
    pub executable: String,
    /// How many denials were held back.
    pub count: u32,
}

#[derive(Debug)]
struct Open {
    last: Instant,
    count: u32,
}

#[derive(Debug)]
struct App {
    start: Instant,
    shown: u32,
    held: u32,
}

/// The flood-control state of the agent.
#[derive(Debug, Default)]
pub struct Flood {
    limits: Limits,
    open: HashMap<Key, Open>,
    apps: HashMap<String, App>,
}

impl Flood {
    /// No notifications yet.
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Changes the limits (notifier.toml was edited); what is open stays.
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Decides about a denial that the daemon reported `count` times.
    pub fn denied(&mut self, key: Key, count: u32, now: Instant) -> Decision {
        let count = count.max(1);
        if let Some(open) = self.open.get_mut(&key) {
            if now.saturating_duration_since(open.last) < self.limits.coalesce {
                open.last = now;
                open.count = open.count.saturating_add(count);
                return Decision::Update { count: open.count };
            }
        }
        let app = self.apps.entry(key.executable.clone()).or_insert(App {
            start: now,
            shown: 0,
            held: 0,
        });
        if now.saturating_duration_since(app.start) >= self.limits.app_window {
            // a new window; what was held stays until due() reports it
            app.start = now;
            app.shown = 0;
        }
        if app.shown >= self.limits.per_app {
            app.held = app.held.saturating_add(count);
            return Decision::HeldBack;
        }
        app.shown += 1;
        self.open.insert(key, Open { last: now, count });
        Decision::Show
    }

    /// The notification of `key` was closed or answered: the next identical
    /// denial gets a new one.
    pub fn forget(&mut self, key: &Key) {
        self.open.remove(key);
    }

    /// Summaries whose window has ended, and housekeeping of old entries.
    pub fn due(&mut self, now: Instant) -> Vec<Summary> {
        let limits = self.limits;
        self.open
            .retain(|_, o| now.saturating_duration_since(o.last) < limits.coalesce);
        let mut due = Vec::new();
        self.apps.retain(|executable, app| {
            if now.saturating_duration_since(app.start) < limits.app_window {
                return true;
            }
            if app.held > 0 {
                due.push(Summary {
                    executable: executable.clone(),
                    count: app.held,
                });
            }
            false
        });
        due.sort_by(|a, b| a.executable.cmp(&b.executable));
        due
    }

    /// When [`Flood::due`] may next have something to say, if ever.
    #[must_use]
    pub fn next_due(&self) -> Option<Instant> {
        self.apps
            .values()
            .filter(|a| a.held > 0)
            .map(|a| a.start + self.limits.app_window)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(exe: &str, object: &str) -> Key {
        Key {
            executable: exe.into(),
            object: object.into(),
            access: "read".into(),
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn identical_denials_within_the_window_update_one_notification() {
        let t = Instant::now();
        let mut f = Flood::new(Limits::default());
        assert_eq!(f.denied(key("/a", "/x"), 1, t), Decision::Show);
        assert_eq!(
            f.denied(key("/a", "/x"), 1, t + secs(10)),
            Decision::Update { count: 2 }
        );
        assert_eq!(
            f.denied(key("/a", "/x"), 3, t + secs(20)),
            Decision::Update { count: 5 },
            "the daemon's own count adds up"
        );
    }

    #[test]
    fn the_coalescing_window_slides_with_each_repeat_and_then_ends() {
        let t = Instant::now();
        let mut f = Flood::new(Limits::default());
        f.denied(key("/a", "/x"), 1, t);
        assert!(matches!(
            f.denied(key("/a", "/x"), 1, t + secs(50)),
            Decision::Update { .. }
        ));
        assert!(matches!(
            f.denied(key("/a", "/x"), 1, t + secs(100)),
            Decision::Update { .. }
        ));
        assert_eq!(f.denied(key("/a", "/x"), 1, t + secs(161)), Decision::Show);
    }

    #[test]
    fn a_different_access_to_the_same_object_is_a_different_denial() {
        let t = Instant::now();
        let mut f = Flood::new(Limits::default());
        f.denied(key("/a", "/x"), 1, t);
        let mut write = key("/a", "/x");
        write.access = "write".into();
        assert_eq!(f.denied(write, 1, t), Decision::Show);
    }

    #[test]
    fn an_app_gets_three_notifications_then_a_summary_of_the_rest() {
        let t = Instant::now();
        let mut f = Flood::new(Limits::default());
        for i in 0..3 {
            assert_eq!(f.denied(key("/a", &format!("/{i}")), 1, t), Decision::Show);
        }
        for i in 3..15 {
            assert_eq!(
                f.denied(key("/a", &format!("/{i}")), 1, t + secs(1)),
                Decision::HeldBack
            );
        }
        assert_eq!(
            f.denied(key("/b", "/x"), 1, t + secs(1)),
            Decision::Show,
            "the limit is per app"
        );
        assert_eq!(f.due(t + secs(29)), []);
        assert_eq!(f.next_due(), Some(t + secs(30)));
        assert_eq!(
            f.due(t + secs(30)),
            [Summary {
                executable: "/a".into(),
                count: 12
            }]
        );
        assert_eq!(f.due(t + secs(31)), [], "a summary is given once");
        assert_eq!(f.denied(key("/a", "/new"), 1, t + secs(31)), Decision::Show);
    }

    #[test]
    fn a_forgotten_notification_is_shown_anew() {
        let t = Instant::now();
        let mut f = Flood::new(Limits::default());
        f.denied(key("/a", "/x"), 1, t);
        f.forget(&key("/a", "/x"));
        assert_eq!(f.denied(key("/a", "/x"), 1, t + secs(1)), Decision::Show);
    }

    #[test]
    fn updates_do_not_count_against_the_app_limit() {
        let t = Instant::now();
        let mut f = Flood::new(Limits {
            per_app: 1,
            ..Limits::default()
        });
        assert_eq!(f.denied(key("/a", "/x"), 1, t), Decision::Show);
        for _ in 0..5 {
            assert!(matches!(
                f.denied(key("/a", "/x"), 1, t),
                Decision::Update { .. }
            ));
        }
        assert_eq!(f.denied(key("/a", "/y"), 1, t), Decision::HeldBack);
    }
}

//! From the kernel's ring buffer to what people read. The wing:
//!
//! - [`pipeline`]: the task that drains the ring buffer and hands each
//!   event on;
//! - [`record`]: a kernel event as the daemon keeps it (id, wall-clock
//!   time, names), and its log line; [`words`]: the ABI's numbers as words;
//! - [`coalesce`]: bursts of identical events become one;
//! - [`audit`]: the audit log and its rotation; [`history`]: the recent
//!   events the D-Bus API pages through; [`counters`]: what was received
//!   and lost, and the kernel's own counts.

pub mod audit;
pub mod coalesce;
pub mod counters;
pub mod history;
pub mod pipeline;
pub mod record;
pub mod words;

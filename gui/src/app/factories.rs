//! The rows of the app's lists, one relm4 factory component per file: a
//! page keeps them in a `FactoryVecDeque` and hears what the user does on
//! a row as the row's output.

pub mod event_row;
pub mod history_row;
pub mod rule_group;
pub mod rule_row;

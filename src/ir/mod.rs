//! The intermediate representation: statements of the draft with their migration operations.
pub mod action;
pub mod catalog;
pub mod expr;
pub mod functions;
pub mod lock;
pub mod lower;
pub mod lower_action;
pub mod lower_alter;
pub mod lower_dml;
pub mod lower_expr;
pub mod lower_table;
pub mod migration;
pub mod name;
pub mod op;
pub mod schema;
pub mod session;
pub mod timeline;

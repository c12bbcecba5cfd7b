//! The intermediate representation: statements of the draft with their migration operations.
pub mod action;
pub mod catalog;
pub mod lock;
pub mod lower;
pub mod migration;
pub mod name;
pub mod op;

//! Front end: split the script into statements, then parse each one.
pub mod error_stop;
pub mod forms;
pub mod index_parameters;
pub mod mask;
pub mod parse;
pub mod split;
pub mod standard_strings;
pub mod tokens;

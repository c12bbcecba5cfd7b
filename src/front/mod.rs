//! Front end: split the script into statements, then parse each one.
pub mod mask;
pub mod split;

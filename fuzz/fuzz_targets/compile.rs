//! Split + compile + check of every emitted file. Panics (= a crash libFuzzer keeps) when:
//! compiling panics; the split is not lossless; a step file or the flattened plan is not a fixed
//! point (`pgsafe check` would rewrite pgsafe's own output); the output is not deterministic.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../property.rs"]
mod property;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        property::check_one(text);
    }
});

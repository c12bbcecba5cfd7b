//! Writing a big JSON report as it is made: a report of a 100,000-statement draft is 200 MB of
//! JSON, and a `serde_json::Value` tree of it held whole took 1.6 GB and eight seconds.

use serde::ser::{Serialize, Serializer};
use std::cell::Cell;
use std::io;

/// A JSON array of what the iterator yields, serialised as it yields it (never collected).
pub struct Seq<I>(Cell<Option<I>>);

impl<I> Seq<I> {
    pub fn new(items: I) -> Seq<I> {
        Seq(Cell::new(Some(items)))
    }
}

impl<I: IntoIterator<Item: Serialize>> Serialize for Seq<I> {
    /// Consumes the iterator: a `Seq` is serialised once (a second time gives `[]`).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.take().into_iter().flatten())
    }
}

/// `T` with the keys of every object in it in alphabetical order, as the first reports wrote them
/// (through `serde_json::Value`, whose objects sort their keys): version 1 of a report keeps its
/// bytes. Meant for one small item of a big array at a time.
pub struct Sorted<'a, T>(pub &'a T);

impl<T: Serialize> Serialize for Sorted<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_json::to_value(self.0).map_err(serde::ser::Error::custom)?.serialize(s)
    }
}

/// `doc` as pretty JSON ending in a newline, written to `out` as it is serialised.
pub fn write_pretty(doc: &impl Serialize, out: &mut impl io::Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, doc)?;
    out.write_all(b"\n")
}

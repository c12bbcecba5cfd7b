//! A draft's text with its name, and byte offset → line:column (1-based, columns in characters).

/// The byte order mark some Windows editors put first in a UTF-8 file.
pub const BOM: char = '\u{feff}';

/// The input file, with an index that makes every position lookup cost at most two chunks' count.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    /// The text, without a leading byte order mark: columns count from the first character an
    /// editor shows, and no BOM lands in the middle of a plan file.
    pub text: String,
    /// The file began with a byte order mark (a file rewritten in place keeps it).
    pub bom: bool,
    /// Where each [`CHUNK`] of bytes starts, in lines and characters: a position is counted
    /// within at most two chunks, never over the whole line (a 10 MB line of statements with a
    /// finding each would make that quadratic) nor over the whole text. 24 bytes a kilobyte, where
    /// a table of line starts takes 8 a line (67 MB for a 100 MB function of short lines).
    chunks: Vec<Chunk>,
}

const CHUNK: usize = 1024;

#[derive(Debug, Clone, Copy)]
struct Chunk {
    /// Line breaks before the chunk.
    lines_before: usize,
    /// Where the line the chunk starts in begins.
    line_start: usize,
    /// Characters before the chunk.
    chars_before: usize,
}

/// Characters in `bytes`: the bytes that do not continue a UTF-8 sequence.
fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b as i8) >= -0x40).count()
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        let mut text = text.into();
        let bom = text.starts_with(BOM);
        if bom {
            text.drain(..BOM.len_utf8());
        }
        let mut chunks = Vec::with_capacity(text.len() / CHUNK + 1);
        let mut next = Chunk { lines_before: 0, line_start: 0, chars_before: 0 };
        for (k, bytes) in text.as_bytes().chunks(CHUNK).enumerate() {
            chunks.push(next);
            next.lines_before += memchr::memchr_iter(b'\n', bytes).count();
            if let Some(last) = memchr::memrchr(b'\n', bytes) {
                next.line_start = k * CHUNK + last + 1;
            }
            next.chars_before += count_chars(bytes);
        }
        chunks.push(next);
        Source { name: name.into(), text, bom, chunks }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let (k, bytes) = (offset / CHUNK, self.text.as_bytes());
        let (chunk, from) = (self.chunks[k], k * CHUNK);
        let head = &bytes[from..offset];
        let line = chunk.lines_before + memchr::memchr_iter(b'\n', head).count();
        let start = memchr::memrchr(b'\n', head).map_or(chunk.line_start, |i| from + i + 1);
        let chars = if offset - start <= CHUNK {
            count_chars(&bytes[start..offset])
        } else {
            self.chars_before(offset) - self.chars_before(start)
        };
        (line + 1, chars + 1)
    }

    fn chars_before(&self, offset: usize) -> usize {
        let k = offset / CHUNK;
        self.chunks[k].chars_before + count_chars(&self.text.as_bytes()[k * CHUNK..offset])
    }

    /// `name:line:column`, the way compilers point at input.
    pub fn position(&self, offset: usize) -> String {
        self.at(offset).to_string()
    }

    /// [`Source::position`] to be written where it goes, not kept (a big draft's list of
    /// findings has tens of thousands).
    pub fn at(&self, offset: usize) -> Position<'_> {
        Position { source: self, offset }
    }
}

/// A position in a [`Source`], shown as `name:line:column`.
pub struct Position<'s> {
    source: &'s Source,
    offset: usize,
}

impl std::fmt::Display for Position<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (l, c) = self.source.line_col(self.offset);
        write!(f, "{}:{l}:{c}", self.source.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_not_bytes() {
        let s = Source::new("d.sql", "-- é\nSELECT 'ü', x;\n");
        assert_eq!(s.line_col(0), (1, 1));
        let x = s.text.find('x').unwrap();
        assert_eq!(s.line_col(x), (2, 13));
        assert_eq!(s.position(x), "d.sql:2:13");
    }

    #[test]
    fn columns_on_long_lines_across_chunks_match_a_plain_count() {
        // Lines longer than a chunk, with multi-byte characters straddling chunk boundaries.
        let line: String = (0..3000).map(|i| if i % 7 == 0 { "é€" } else { "a;" }).collect();
        // And short lines: many line breaks in one chunk, some right at a chunk's edge.
        let short: String = (0..3000).map(|i| if i % 5 == 0 { "é\n" } else { "ab\n" }).collect();
        let text = format!("{line}\nx{line}\n\n{line}\n{short}{line}");
        let s = Source::new("d.sql", text.clone());
        for (offset, _) in text.char_indices().step_by(13).chain([(text.len(), ' ')]) {
            let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
            let line = text[..offset].matches('\n').count() + 1;
            assert_eq!(s.line_col(offset), (line, text[start..offset].chars().count() + 1), "at {offset}");
        }
    }

    #[test]
    fn an_empty_text_is_at_one_one() {
        assert_eq!(Source::new("d.sql", "").line_col(0), (1, 1));
        let at_edge = "a".repeat(CHUNK - 1) + "\n";
        assert_eq!(Source::new("d.sql", at_edge.clone()).line_col(at_edge.len()), (2, 1));
    }

    #[test]
    fn a_byte_order_mark_is_not_text() {
        let s = Source::new("d.sql", "\u{feff}SELECT 1;\n");
        assert!(s.bom);
        assert_eq!(s.text, "SELECT 1;\n");
        assert_eq!(s.position(7), "d.sql:1:8");
    }
}

//! A draft's text with its name, and byte offset → line:column (1-based, columns in characters).

/// The byte order mark some Windows editors put first in a UTF-8 file.
pub const BOM: char = '\u{feff}';

/// The input file. Line starts are computed once, so every position lookup is a binary search.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    /// The text, without a leading byte order mark: columns count from the first character an
    /// editor shows, and no BOM lands in the middle of a plan file.
    pub text: String,
    /// The file began with a byte order mark (a file rewritten in place keeps it).
    pub bom: bool,
    line_starts: Vec<usize>,
    /// Characters before every [`CHUNK`]-th byte: on a long line a column is counted over at
    /// most two chunks, never over the whole line (a 10 MB line of statements with a
    /// finding each would make that quadratic).
    chars_before_chunk: Vec<usize>,
}

const CHUNK: usize = 1024;

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
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        let mut chars_before_chunk = Vec::with_capacity(text.len() / CHUNK + 1);
        let mut chars = 0;
        for chunk in text.as_bytes().chunks(CHUNK) {
            chars_before_chunk.push(chars);
            chars += count_chars(chunk);
        }
        chars_before_chunk.push(chars);
        Source { name: name.into(), text, bom, line_starts, chars_before_chunk }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let chars = if offset - start <= CHUNK {
            count_chars(&self.text.as_bytes()[start..offset])
        } else {
            self.chars_before(offset) - self.chars_before(start)
        };
        let col = chars + 1;
        (line + 1, col)
    }

    fn chars_before(&self, offset: usize) -> usize {
        let chunk = offset / CHUNK;
        self.chars_before_chunk[chunk] + count_chars(&self.text.as_bytes()[chunk * CHUNK..offset])
    }

    /// `name:line:column`, the way compilers point at input.
    pub fn position(&self, offset: usize) -> String {
        let (l, c) = self.line_col(offset);
        format!("{}:{l}:{c}", self.name)
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
        let text = format!("{line}\nx{line}\n\n{line}");
        let s = Source::new("d.sql", text.clone());
        for (offset, _) in text.char_indices().step_by(97).chain([(text.len(), ' ')]) {
            let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
            let line = text[..offset].matches('\n').count() + 1;
            assert_eq!(s.line_col(offset), (line, text[start..offset].chars().count() + 1), "at {offset}");
        }
    }

    #[test]
    fn a_byte_order_mark_is_not_text() {
        let s = Source::new("d.sql", "\u{feff}SELECT 1;\n");
        assert!(s.bom);
        assert_eq!(s.text, "SELECT 1;\n");
        assert_eq!(s.position(7), "d.sql:1:8");
    }
}

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
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        let mut text = text.into();
        let bom = text.starts_with(BOM);
        if bom {
            text.drain(..BOM.len_utf8());
        }
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Source { name: name.into(), text, bom, line_starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let col = self.text.get(start..offset).map_or(offset - start, |s| s.chars().count()) + 1;
        (line + 1, col)
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
    fn a_byte_order_mark_is_not_text() {
        let s = Source::new("d.sql", "\u{feff}SELECT 1;\n");
        assert!(s.bom);
        assert_eq!(s.text, "SELECT 1;\n");
        assert_eq!(s.position(7), "d.sql:1:8");
    }
}

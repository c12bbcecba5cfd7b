//! A draft's text with its name, and byte offset → line:column (1-based, columns in characters).

/// The input file. Line starts are computed once, so every position lookup is a binary search.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Source {
        let text = text.into();
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Source { name: name.into(), text, line_starts }
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
}

//! CSV read record by record: a province's member list is hundreds of MB,
//! so neither its text nor a grid of its cells is ever held whole. The
//! encoding is chosen from the first 64 KB (BOM, else strict UTF-8, else
//! GB18030) and every byte after that is decoded strictly as it streams: a
//! byte sequence that is not in the encoding stops the read with the same
//! message as before, never a silently replaced character.

use super::{Cell, Grid, GridNote, MAX_COLS, MAX_TEXT_CHARS};
use crate::error::{Location, MonitorError, Result};
use encoding_rs::{DecoderResult, Encoding};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

/// Bytes sniffed for the encoding and the delimiter.
const SNIFF: usize = 64 * 1024;

const BAD_ENCODING: &str = "文件编码无法识别（既不是UTF-8也不是GBK），请另存为“CSV UTF-8”或xlsx";

/// Where a CSV's bytes come from: its file (re-opened for each pass) or
/// bytes already in memory.
#[derive(Debug, Clone)]
pub enum Origin {
    File(PathBuf),
    Bytes(Arc<[u8]>),
}

/// A CSV file ready to be read, any number of times, record by record.
#[derive(Debug, Clone)]
pub struct CsvFile {
    origin: Origin,
    shown: String,
    encoding: &'static Encoding,
    delimiter: u8,
}

/// The encoding of a text file from its first bytes: BOM first, then
/// strict UTF-8, then GB18030 (a superset of GBK/GB2312, what Excel on
/// Chinese Windows writes as "ANSI").
pub fn sniff_encoding(head: &[u8]) -> &'static Encoding {
    if let Some((enc, _)) = Encoding::for_bom(head) {
        return enc;
    }
    let sample = &head[..head.len().min(SNIFF)];
    match std::str::from_utf8(sample) {
        Ok(_) => encoding_rs::UTF_8,
        Err(e) if e.error_len().is_none() => encoding_rs::UTF_8,
        Err(_) => encoding_rs::GB18030,
    }
}

impl CsvFile {
    /// Sniff the encoding and delimiter from the first bytes of `origin`.
    pub fn open(origin: Origin, shown: &str) -> Result<Self> {
        let mut head = Vec::with_capacity(SNIFF);
        open_origin(&origin, shown)?
            .take(SNIFF as u64)
            .read_to_end(&mut head)
            .map_err(|e| io_error(shown, None, &e))?;
        let encoding = sniff_encoding(&head);
        let mut f = CsvFile {
            origin,
            shown: shown.to_string(),
            encoding,
            delimiter: b',',
        };
        let mut text = String::new();
        let mut dec = Decoding::new(&head[..], encoding, true);
        // A sample cut in the middle of a character is fine here.
        let _ = dec.read_to_string(&mut text);
        f.delimiter = delimiter(&text);
        Ok(f)
    }

    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Every record from the first, as cells (0-based record index, the
    /// cells with trailing blanks dropped). `f` returns `false` to stop.
    /// Cells left out or shortened are returned as notes.
    pub fn each(&self, mut f: impl FnMut(usize, &[Cell]) -> Result<bool>) -> Result<Vec<GridNote>> {
        let src = Decoding::new(
            open_origin(&self.origin, &self.shown)?,
            self.encoding,
            false,
        );
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(self.delimiter)
            .from_reader(src);
        let mut rec = csv::ByteRecord::new();
        let mut row: Vec<Cell> = Vec::new();
        // Notes are gathered on a grid of no rows (`admit` keeps them).
        let mut notes = Grid::new(&self.shown, None);
        let mut i = 0usize;
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(self.record_error(i, &e)),
            }
            row.clear();
            for (c, field) in rec.iter().enumerate().take(MAX_COLS as usize + 1) {
                // The decoder wrote UTF-8 and the csv reader splits on ASCII
                // only, so a field is whole characters.
                let s = std::str::from_utf8(field)
                    .map_err(|_| MonitorError::input(Location::file(&self.shown), BAD_ENCODING))?;
                row.push(text_cell(&mut notes, i, c, s));
            }
            row.truncate(MAX_COLS as usize);
            while matches!(row.last(), Some(Cell::Empty)) {
                row.pop();
            }
            if !f(i, &row)? {
                break;
            }
            i += 1;
        }
        Ok(notes.notes)
    }

    /// The first `n` records as a grid (for finding the header).
    pub fn head(&self, n: usize) -> Result<Grid> {
        let mut g = Grid::new(&self.shown, None);
        self.each(|i, row| {
            if i >= n {
                return Ok(false);
            }
            g.rows.push(row.to_vec());
            Ok(true)
        })?;
        Ok(g)
    }

    /// Every record as a grid (small files: forms read back, tests).
    pub fn grid(&self) -> Result<Grid> {
        let mut g = Grid::new(&self.shown, None);
        g.notes = self.each(|_, row| {
            g.rows.push(row.to_vec());
            Ok(true)
        })?;
        Ok(g)
    }

    fn record_error(&self, i: usize, e: &csv::Error) -> MonitorError {
        if let csv::ErrorKind::Io(io) = e.kind() {
            return io_error(&self.shown, Some(i), io);
        }
        MonitorError::input(
            Location {
                file: self.shown.clone().into(),
                sheet: None,
                row: Some(i as u32 + 1),
                col: None,
            },
            format!("CSV格式错误，请检查该行的引号是否成对、文件是否完整（{e}）"),
        )
    }
}

/// The delimiter the table's lines use most: looked for in the first
/// non-blank lines (a title line above the header may have none), a comma
/// when in doubt.
fn delimiter(text: &str) -> u8 {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(10)
        .collect();
    [b',', b'\t', b';', b'|']
        .into_iter()
        .rev()
        .max_by_key(|d| {
            lines
                .iter()
                .map(|l| l.matches(*d as char).count())
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(b',')
}

/// One field as a cell: blank, text, or (beyond the bounds kept) a note.
fn text_cell(notes: &mut Grid, i: usize, c: usize, s: &str) -> Cell {
    if s.trim().is_empty() {
        Cell::Empty
    } else if c < MAX_COLS as usize && s.len() <= MAX_TEXT_CHARS {
        Cell::Text(s.into())
    } else {
        let r = u32::try_from(i).unwrap_or(u32::MAX);
        let c32 = u32::try_from(c).unwrap_or(u32::MAX);
        notes
            .admit(r, c32, Cell::Text(s.into()))
            .unwrap_or(Cell::Empty)
    }
}

fn open_origin(origin: &Origin, shown: &str) -> Result<Box<dyn Read + Send>> {
    Ok(match origin {
        Origin::File(p) => Box::new(std::io::BufReader::with_capacity(
            256 * 1024,
            std::fs::File::open(p).map_err(|e| io_error(shown, None, &e))?,
        )),
        Origin::Bytes(b) => Box::new(std::io::Cursor::new(Arc::clone(b))),
    })
}

fn io_error(shown: &str, record: Option<usize>, e: &std::io::Error) -> MonitorError {
    let loc = Location {
        file: shown.into(),
        sheet: None,
        row: record.map(|i| i as u32 + 1),
        col: None,
    };
    if e.kind() == std::io::ErrorKind::InvalidData {
        MonitorError::input(Location::file(shown), BAD_ENCODING)
    } else {
        MonitorError::input(loc, format!("读取文件时出错（{e}）"))
    }
}

/// A reader of UTF-8 decoded strictly from another encoding (UTF-8 itself
/// included: then it only checks and drops the BOM).
struct Decoding<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    /// A sample (not the whole file): its cut end is not an error.
    sample: bool,
    /// The decoder has been told the input ended: it must not be used again.
    done: bool,
}

const CHUNK: usize = 64 * 1024;

impl<R: Read> Decoding<R> {
    fn new(inner: R, enc: &'static Encoding, sample: bool) -> Self {
        Decoding {
            inner,
            decoder: enc.new_decoder_with_bom_removal(),
            input: vec![0; CHUNK],
            start: 0,
            end: 0,
            eof: false,
            // Room for any CHUNK of input in any encoding (3 bytes of UTF-8
            // per input byte at most) and the decoder's carry.
            output: vec![0; 3 * CHUNK + 16],
            out_start: 0,
            out_end: 0,
            sample,
            done: false,
        }
    }

    /// Decode more output; leaves `out_end == 0` only at the end.
    fn fill(&mut self) -> std::io::Result<()> {
        self.out_start = 0;
        self.out_end = 0;
        while !self.done {
            if self.start == self.end && !self.eof {
                self.start = 0;
                self.end = self.inner.read(&mut self.input)?;
                self.eof = self.end == 0;
            }
            let last = self.eof && !self.sample;
            let (res, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.input[self.start..self.end],
                &mut self.output,
                last,
            );
            self.start += read;
            self.out_end = written;
            self.done = last && matches!(res, DecoderResult::InputEmpty);
            if let DecoderResult::Malformed(_, _) = res {
                if !self.sample {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "malformed text",
                    ));
                }
                self.eof = true;
                self.start = self.end;
            }
            if written > 0 || (self.eof && self.start == self.end) {
                return Ok(());
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Decoding<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.out_start == self.out_end {
            self.fill()?;
        }
        let n = out.len().min(self.out_end - self.out_start);
        out[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
        self.out_start += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(bytes: &[u8]) -> CsvFile {
        CsvFile::open(Origin::Bytes(bytes.into()), "t.csv").unwrap()
    }

    #[test]
    fn gbk_decoded_across_buffer_boundaries() {
        // Long enough that characters straddle the decoder's 64 KB input.
        let line = "H0001,张三丰,因病致贫\n";
        let text: String = line.repeat(10_000);
        let (gbk, _, _) = encoding_rs::GBK.encode(&text);
        let mut n = 0;
        file(&gbk)
            .each(|_, row| {
                assert_eq!(row[1], Cell::Text("张三丰".into()));
                assert_eq!(row[2], Cell::Text("因病致贫".into()));
                n += 1;
                Ok(true)
            })
            .unwrap();
        assert_eq!(n, 10_000);
    }

    #[test]
    fn a_bad_byte_after_the_sniffed_part_stops_the_read() {
        let mut bytes = "户编号,姓名\n".repeat(8000).into_bytes();
        bytes.extend([0xFF, b',', b'x', b'\n']);
        let e = file(&bytes).grid().unwrap_err().to_string();
        assert!(e.contains("文件编码无法识别"), "{e}");
    }

    #[test]
    fn a_title_line_without_delimiters_does_not_decide_the_delimiter() {
        assert_eq!(delimiter("某某县农户信息\n户编号,姓名\n1,张三\n"), b',');
        assert_eq!(delimiter("标题\n户编号\t姓名\n"), b'\t');
        assert_eq!(delimiter("只有一列\n"), b',');
    }

    #[test]
    fn excel_unicode_text_utf16_with_tabs() {
        // Excel's “Unicode 文本” export: UTF-16LE with a BOM, tab-separated.
        let mut bytes = vec![0xFF, 0xFE];
        for u in "户编号\t户主姓名\r\nH1\t张三\r\n".encode_utf16() {
            bytes.extend(u.to_le_bytes());
        }
        let g = file(&bytes).grid().unwrap();
        assert_eq!(g.get(0, 0).text(), "户编号");
        assert_eq!(g.get(1, 1).text(), "张三");
    }

    #[test]
    fn stops_when_asked_and_keeps_the_bom_out() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend("户编号\tX\n1\t2\n3\t4\n".as_bytes());
        let g = file(&bytes).head(2).unwrap();
        assert_eq!(g.rows.len(), 2);
        assert_eq!(g.get(0, 0).text(), "户编号");
        assert_eq!(g.get(1, 1).text(), "2");
    }
}

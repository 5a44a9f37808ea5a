//! Reading the month's exports: xlsx / xls / ods through calamine, CSV in
//! UTF-8 (with or without BOM), UTF-16 or GBK/GB18030. Merged cells are
//! filled from their top-left cell, and the header row is found by name
//! (with an alias table) even when title rows sit above it.
//!
//! Reading is bounded by the data actually present: xlsx sheets are read
//! cell by cell (a stray cell at XFD1048576 costs one cell, not a grid of
//! 17 billion), cells right of [`MAX_COLS`] or longer than
//! [`MAX_TEXT_CHARS`] are left out or shortened with a note naming the
//! cell, and a panic inside a reader library is reported as a damaged file.

use crate::error::{shorten, Location, MonitorError, Result};
use crate::normalize::header_key;
use calamine::{Data, DataRef, DataType, Reader, Sheets};
use chrono::NaiveDate;
use compact_str::CompactString;
use rustc_hash::FxHashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

mod csvstream;
mod merges;
pub use csvstream::{sniff_encoding, CsvFile, Origin};

/// Columns read per sheet (the legacy .xls limit; no export has more).
pub const MAX_COLS: u32 = 256;
/// Characters kept of one text cell.
pub const MAX_TEXT_CHARS: usize = 1000;
/// Rows read per sheet (the xlsx limit).
pub const MAX_ROWS: u32 = 1_048_576;

/// One cell as read from any input format.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Cell {
    #[default]
    Empty,
    /// Text, stored inline up to 24 bytes (most cells: names, IDs, amounts),
    /// so a grid of a county's roster holds no allocation per cell.
    Text(CompactString),
    /// Only used transiently: converted to `Decimal`/ids/dates by `normalize`.
    Float(f64),
    Int(i64),
    Bool(bool),
    Date(NaiveDate),
    /// A formula whose result was never calculated (no cached value): its
    /// text, so that it is reported rather than read as blank or 0.
    Uncomputed(String),
}

impl Cell {
    /// A text cell; blank text is an empty cell.
    fn of_text(s: &str) -> Self {
        if s.trim().is_empty() {
            Cell::Empty
        } else {
            Cell::Text(s.into())
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as display text (for messages and text fields).
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.trim().to_string(),
            Cell::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
            Cell::Float(f) => f.to_string(),
            Cell::Int(i) => i.to_string(),
            Cell::Bool(b) => if *b { "是" } else { "否" }.to_string(),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Uncomputed(f) => format!("={f}"),
        }
    }

    /// [`Cell::text`] held inline when short (names, IDs, places): no
    /// allocation for most cells.
    pub fn text_compact(&self) -> CompactString {
        match self {
            Cell::Empty => CompactString::default(),
            Cell::Text(s) => CompactString::from(s.trim()),
            other => other.text().into(),
        }
    }

    /// [`Cell::text`] interned: for texts that repeat across rows (乡镇,
    /// 村, 与户主关系…).
    pub fn label(&self) -> crate::model::Ustr {
        match self {
            Cell::Empty => crate::model::Ustr::default(),
            Cell::Text(s) => crate::model::Ustr::from(s.trim()),
            other => crate::model::Ustr::from(&other.text()),
        }
    }
}

/// A cell as an xlsx sheet streams it: text is copied once, straight from
/// the shared strings, not first into a `Data`.
impl From<DataRef<'_>> for Cell {
    fn from(d: DataRef<'_>) -> Self {
        match d {
            DataRef::Empty => Cell::Empty,
            DataRef::SharedString(s) => Cell::of_text(s),
            DataRef::String(s) => Cell::of_text(&s),
            DataRef::Float(f) => Cell::Float(f),
            DataRef::Int(i) => Cell::Int(i),
            DataRef::Bool(b) => Cell::Bool(b),
            other => Cell::from(&Data::from(other)),
        }
    }
}

impl From<&Data> for Cell {
    fn from(d: &Data) -> Self {
        match d {
            Data::Empty => Cell::Empty,
            Data::String(s) => Cell::of_text(s),
            Data::Float(f) => Cell::Float(*f),
            Data::Int(i) => Cell::Int(*i),
            Data::Bool(b) => Cell::Bool(*b),
            Data::DateTime(dt) => match dt.as_datetime() {
                Some(x) if dt.is_datetime() => Cell::Date(x.date()),
                _ => Cell::Float(dt.as_f64()),
            },
            Data::DateTimeIso(s) => match d.as_date() {
                Some(x) => Cell::Date(x),
                None => Cell::Text(s.as_str().into()),
            },
            Data::DurationIso(s) => Cell::Text(s.as_str().into()),
            Data::Error(e) => Cell::Text(format!("#{e:?}").into()),
        }
    }
}

/// A cell that was left out or shortened while reading, for 数据问题.
#[derive(Debug, Clone, PartialEq)]
pub struct GridNote {
    /// 1-based row.
    pub row: u32,
    /// 0-based column.
    pub col: u32,
    pub value: String,
    pub reason: String,
}

/// A sheet (or a CSV file) as a grid in absolute coordinates: `rows[0]` is
/// spreadsheet row 1, `rows[r][0]` column A.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    pub file: Arc<str>,
    pub sheet: Option<Arc<str>>,
    pub rows: Vec<Vec<Cell>>,
    /// Cells left out (beyond [`MAX_COLS`]) or shortened.
    pub notes: Vec<GridNote>,
    /// Columns of the widest row placed so far.
    width: usize,
}

impl Grid {
    fn new(file: &str, sheet: Option<String>) -> Self {
        Grid {
            file: file.into(),
            sheet: sheet.map(Into::into),
            ..Default::default()
        }
    }

    pub fn get(&self, r: usize, c: usize) -> &Cell {
        static EMPTY: Cell = Cell::Empty;
        self.rows
            .get(r)
            .and_then(|row| row.get(c))
            .unwrap_or(&EMPTY)
    }

    /// The cell to keep at (0-based row, col), within the bounds this
    /// reader keeps: a cell outside them is left out, a long text shortened,
    /// each with a note naming the cell.
    fn admit(&mut self, r: u32, c: u32, cell: Cell) -> Option<Cell> {
        if c >= MAX_COLS {
            if self.notes.len() < 100 {
                self.notes.push(GridNote {
                    row: r.saturating_add(1),
                    col: c,
                    value: shorten(&cell.text()),
                    reason: format!(
                        "该单元格在第{MAX_COLS}列（{}列）以外，远离表格数据，已忽略；如确是数据请移到表格内",
                        crate::error::col_letter(MAX_COLS - 1)
                    ),
                });
            }
            return None;
        }
        Some(match cell {
            Cell::Text(s) if s.len() > MAX_TEXT_CHARS && s.chars().count() > MAX_TEXT_CHARS => {
                self.notes.push(GridNote {
                    row: r + 1,
                    col: c,
                    value: shorten(&s),
                    reason: format!(
                        "单元格内容过长（{} 个字符），只读取了前 {MAX_TEXT_CHARS} 个字符",
                        s.chars().count()
                    ),
                });
                Cell::Text(s.chars().take(MAX_TEXT_CHARS).collect::<String>().into())
            }
            other => other,
        })
    }

    /// Place a cell at (0-based row, col) of a sparse sheet.
    fn put(&mut self, r: u32, c: u32, cell: Cell) {
        if cell == Cell::Empty || r >= MAX_ROWS {
            return;
        }
        let Some(cell) = self.admit(r, c, cell) else {
            return;
        };
        let (r, c) = (r as usize, c as usize);
        if self.rows.len() <= r {
            self.rows.resize_with(r + 1, Vec::new);
        }
        // A new row gets the width of the widest so far at once, not a
        // reallocation every few cells.
        let width = self.width;
        let row = &mut self.rows[r];
        if row.len() <= c {
            if row.capacity() == 0 {
                row.reserve_exact(width.max(c + 1));
            }
            row.resize(c + 1, Cell::Empty);
        }
        row[c] = cell;
        self.width = self.width.max(c + 1);
    }

    /// Fill merged areas from their top-left cell, within the cells read.
    fn fill_merges(&mut self, merges: &[calamine::Dimensions]) {
        for m in merges {
            let (sr, sc) = (m.start.0 as usize, m.start.1 as usize);
            let Some(v) = self.rows.get(sr).and_then(|r| r.get(sc)).cloned() else {
                continue;
            };
            if v == Cell::Empty {
                continue;
            }
            let last_row = (m.end.0 as usize).min(self.rows.len().saturating_sub(1));
            let last_col = (m.end.1 as usize).min(MAX_COLS as usize - 1);
            for r in sr..=last_row {
                for c in sc..=last_col {
                    if r == sr && c == sc {
                        continue;
                    }
                    let row = &mut self.rows[r];
                    if row.len() <= c {
                        row.resize(c + 1, Cell::Empty);
                    }
                    row[c] = v.clone();
                }
            }
        }
    }

    fn loc(&self) -> Location {
        Location {
            file: self.file.clone(),
            sheet: self.sheet.clone(),
            row: None,
            col: None,
        }
    }
}

fn not_readable(shown: &str, e: &std::io::Error) -> MonitorError {
    MonitorError::input(
        Location::file(shown),
        if e.kind() == std::io::ErrorKind::NotFound {
            "文件不存在，请检查 monitor.toml 中的路径或命令行参数".to_string()
        } else {
            format!("无法读取文件，请检查文件是否存在、是否有读取权限（{e}）")
        },
    )
}

/// Open a regular file for reading; a FIFO, device or folder would block
/// or fail mid-read, so it is refused.
fn open_input(path: &Path, shown: &str) -> Result<std::fs::File> {
    let meta = std::fs::metadata(path).map_err(|e| not_readable(shown, &e))?;
    if !meta.is_file() {
        return Err(MonitorError::input(
            Location::file(shown),
            if meta.is_dir() {
                "这是一个文件夹，不是文件；请给出具体的Excel或CSV文件"
            } else {
                "这不是普通文件（可能是管道或设备），无法作为输入读取；请给出Excel或CSV文件"
            },
        ));
    }
    std::fs::File::open(path).map_err(|e| not_readable(shown, &e))
}

/// Read every sheet of a workbook, or the one table of a CSV file.
pub fn read_grids(path: &Path) -> Result<Vec<Grid>> {
    let shown = path.display().to_string();
    let mut bytes = Vec::new();
    open_input(path, &shown)?
        .read_to_end(&mut bytes)
        .map_err(|e| not_readable(&shown, &e))?;
    read_grids_bytes(&bytes, &shown, Some(path))
}

/// What a file's first bytes say it is.
enum Kind {
    Workbook,
    Csv,
}

/// Tell a workbook from a text file by its first bytes; HTML saved as
/// .xls and damaged files are refused here.
fn classify(head: &[u8], shown: &str, ext: &str) -> Result<Kind> {
    let is_zip = head.starts_with(b"PK\x03\x04");
    let is_ole = head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]);
    if is_zip || is_ole {
        return Ok(Kind::Workbook);
    }
    let start: String = String::from_utf8_lossy(&head[..head.len().min(512)])
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_lowercase();
    if start.starts_with('<') {
        return Err(MonitorError::input(
            Location::file(shown),
            "文件实为网页（HTML）格式，不是真正的Excel文件；请用Excel打开后“另存为”xlsx再运行",
        ));
    }
    // A text file named .xls (common in system exports) is read as CSV;
    // binary bytes that are neither zip nor OLE are a damaged file.
    if head.iter().take(4096).any(|b| *b == 0)
        && !head.starts_with(&[0xFF, 0xFE])
        && !head.starts_with(&[0xFE, 0xFF])
    {
        return Err(MonitorError::input(
            Location::file(shown),
            format!("文件已损坏或不是Excel/CSV格式（扩展名 .{ext}），无法读取；请重新导出"),
        ));
    }
    Ok(Kind::Csv)
}

fn extension(path: Option<&Path>) -> String {
    path.and_then(Path::extension)
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

/// Read a workbook or CSV held in memory (`shown` names it in messages).
pub fn read_grids_bytes(bytes: &[u8], shown: &str, path: Option<&Path>) -> Result<Vec<Grid>> {
    match classify(bytes, shown, &extension(path))? {
        Kind::Workbook => guarded(shown, || read_workbook(bytes, shown)),
        Kind::Csv => Ok(vec![guarded(shown, || read_csv_bytes(bytes, shown))?]),
    }
}

/// An input file opened for finding its tables: a workbook's sheets held
/// in memory, or a CSV's first rows with the file streamed later.
pub struct Source {
    pub grids: Vec<Arc<Grid>>,
    csv: Option<CsvFile>,
}

/// Open an input file: a workbook is read whole (an xlsx sheet holds at
/// most 1,048,576 rows); a CSV only its first rows, to find the header.
pub fn open_source(path: &Path) -> Result<Source> {
    let shown = path.display().to_string();
    let mut head = Vec::with_capacity(4096);
    {
        let f = open_input(path, &shown)?;
        f.take(4096)
            .read_to_end(&mut head)
            .map_err(|e| not_readable(&shown, &e))?;
    }
    match classify(&head, &shown, &extension(Some(path)))? {
        Kind::Workbook => {
            let grids = read_grids(path)?;
            Ok(Source {
                grids: grids.into_iter().map(Arc::new).collect(),
                csv: None,
            })
        }
        Kind::Csv => {
            let file = CsvFile::open(Origin::File(path.to_path_buf()), &shown)?;
            let head = guarded(&shown, || file.head(MAX_HEADER_SCAN))?;
            Ok(Source {
                grids: vec![Arc::new(head)],
                csv: Some(file),
            })
        }
    }
}

/// Run a reader, turning a panic inside a library into a clear input error.
fn guarded<T>(shown: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    crate::error::catch_panic(f).unwrap_or_else(|detail| {
        Err(MonitorError::input(
            Location::file(shown),
            format!("文件无法读取或已损坏，请用Excel打开检查后重新保存或重新导出（{detail}）"),
        ))
    })
}

/// Empty cells a legacy .xls may make the reader allocate (its reader
/// holds each sheet as a full grid from the first to the farthest cell).
const XLS_SPARSE_BUDGET: u64 = 2_000_000;

/// Refuse a legacy .xls whose cells are spread far apart (a stray cell at
/// IV65536 would cost a grid of 16 million cells), by reading the cell
/// records' positions before the reader builds its grids.
fn check_xls_extent(bytes: &[u8], shown: &str) -> Result<()> {
    let Ok(mut c) = cfb::CompoundFile::open(std::io::Cursor::new(bytes)) else {
        return Ok(()); // the reader reports what is wrong
    };
    let mut stream = Vec::new();
    let read = ["/Workbook", "/Book"].iter().any(|name| {
        c.open_stream(name)
            .and_then(|mut s| std::io::Read::read_to_end(&mut s, &mut stream))
            .is_ok()
    });
    if !read {
        return Ok(());
    }
    match xls_excess(&stream) {
        Some((excess, (r, col))) if excess > XLS_SPARSE_BUDGET => Err(MonitorError::input(
            Location {
                file: shown.into(),
                sheet: None,
                row: Some(r + 1),
                col: Some(col),
            },
            "旧版xls文件中有远离表格数据的单元格（最远到所示的行、列），读取它需要过多内存；请删除这些单元格，或用Excel/WPS另存为xlsx后再运行",
        )),
        _ => Ok(()),
    }
}

/// Refuse an ODS whose cells are spread far apart (the reader builds each
/// sheet as a full grid), by walking content.xml's rows and cells with
/// their repeat counts before the reader does.
fn check_ods_extent(bytes: &[u8], shown: &str) -> Result<()> {
    let Ok(mut z) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else {
        return Ok(());
    };
    let mut xml = String::new();
    let read = z
        .by_name("content.xml")
        .ok()
        .and_then(|mut f| std::io::Read::read_to_string(&mut f, &mut xml).ok());
    if read.is_none() {
        return Ok(());
    }
    match ods_excess(&xml) {
        (excess, (r, c)) if excess > XLS_SPARSE_BUDGET => Err(MonitorError::input(
            Location {
                file: shown.into(),
                sheet: None,
                row: Some(r.saturating_add(1)),
                col: Some(c),
            },
            "ODS文件中有远离表格数据的单元格（最远到所示的行、列），读取它需要过多内存；请删除这些单元格，或另存为xlsx后再运行",
        )),
        _ => Ok(()),
    }
}

/// Over the tables of an ODS content.xml: the empty cells inside each
/// table's bounding box of cells with content, and the farthest row and
/// column with content.
fn ods_excess(xml: &str) -> (u64, (u32, u32)) {
    fn repeat(tag: &str, attr: &str) -> u64 {
        tag.find(attr)
            .and_then(|i| tag[i + attr.len()..].split('"').nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
    }
    let (mut total, mut far) = (0u64, (0u32, 0u32));
    let (mut row, mut col, mut rep) = (0u64, 0u64, 1u64);
    let (mut max_row, mut max_col, mut cells, mut any) = (0u64, 0u64, 0u64, false);
    let mut finish = |max_row: u64, max_col: u64, cells: u64, any: bool| {
        if any {
            total += ((max_row + 1) * (max_col + 1)).saturating_sub(cells);
        }
    };
    for tag in xml.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or("");
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        match name {
            "table:table" => {
                finish(max_row, max_col, cells, any);
                (row, max_row, max_col, cells, any) = (0, 0, 0, 0, false);
            }
            "table:table-row" => {
                rep = repeat(tag, "table:number-rows-repeated=");
                col = 0;
            }
            "" if tag.starts_with("/table:table-row") => row = row.saturating_add(rep),
            "table:table-cell" | "table:covered-table-cell" => {
                let crep = repeat(tag, "table:number-columns-repeated=");
                let content = tag.contains("office:value-type") || !tag.ends_with('/');
                if content && name == "table:table-cell" {
                    any = true;
                    max_row = max_row.max(row + rep - 1);
                    max_col = max_col.max(col + crep - 1);
                    cells = cells.saturating_add(crep.saturating_mul(rep));
                    far = (
                        far.0.max((row + rep - 1) as u32),
                        far.1.max((col + crep - 1) as u32),
                    );
                }
                col = col.saturating_add(crep);
            }
            _ => {}
        }
    }
    finish(max_row, max_col, cells, any);
    (total, far)
}

/// Over the sheets of a BIFF stream: the empty cells inside each sheet's
/// bounding box, and the farthest row and column seen.
fn xls_excess(stream: &[u8]) -> Option<(u64, (u32, u32))> {
    #[derive(Default)]
    struct Bounds {
        cells: u64,
        rows: Option<(u32, u32)>,
        cols: Option<(u32, u32)>,
    }
    impl Bounds {
        fn add(&mut self, r: u32, c: u32) {
            self.cells += 1;
            let widen = |b: Option<(u32, u32)>, v: u32| {
                Some(b.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
            };
            self.rows = widen(self.rows, r);
            self.cols = widen(self.cols, c);
        }
        fn excess(&self) -> u64 {
            match (self.rows, self.cols) {
                (Some((r0, r1)), Some((c0, c1))) => {
                    (u64::from(r1 - r0) + 1) * (u64::from(c1 - c0) + 1)
                        - self
                            .cells
                            .min((u64::from(r1 - r0) + 1) * (u64::from(c1 - c0) + 1))
                }
                _ => 0,
            }
        }
    }
    let (mut total, mut sheet, mut far) = (0u64, Bounds::default(), (0u32, 0u32));
    let mut i = 0usize;
    while i + 4 <= stream.len() {
        let typ = u16::from_le_bytes([stream[i], stream[i + 1]]);
        let len = usize::from(u16::from_le_bytes([stream[i + 2], stream[i + 3]]));
        let data = stream.get(i + 4..i + 4 + len)?;
        i += 4 + len;
        let at = |k: usize| {
            data.get(k..k + 2)
                .map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])))
        };
        match typ {
            0x0809 => total += std::mem::take(&mut sheet).excess(), // BOF: a new sheet
            0x0006 | 0x00FD | 0x0203 | 0x027E | 0x0205 | 0x0204 | 0x00D6 => {
                if let (Some(r), Some(c)) = (at(0), at(2)) {
                    sheet.add(r, c);
                    far = (far.0.max(r), far.1.max(c));
                }
            }
            0x00BD if len >= 6 => {
                if let (Some(r), Some(c0), Some(c1)) = (at(0), at(2), at(len - 2)) {
                    sheet.add(r, c0);
                    sheet.add(r, c1.max(c0));
                    far = (far.0.max(r), far.1.max(c1));
                }
            }
            _ => {}
        }
    }
    Some((total + sheet.excess(), far))
}

fn read_workbook(bytes: &[u8], shown: &str) -> Result<Vec<Grid>> {
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        check_xls_extent(bytes, shown)?;
    }
    let cursor = std::io::Cursor::new(bytes);
    // An ODS names itself in its first (stored) entry; open it as such so
    // its own error (too many cells, say) is the one reported.
    let ods = bytes.len() > 80
        && bytes[..bytes.len().min(120)]
            .windows(39)
            .any(|w| w == b"application/vnd.oasis.opendocument.spre");
    if ods {
        check_ods_extent(bytes, shown)?;
    }
    let opened = if ods {
        calamine::open_workbook_from_rs::<calamine::Ods<_>, _>(cursor)
            .map(Sheets::Ods)
            .map_err(calamine::Error::Ods)
    } else {
        calamine::open_workbook_auto_from_rs(cursor)
    };
    let mut wb = opened.map_err(|e| {
        MonitorError::input(
            Location::file(shown),
            format!(
                "无法打开工作簿：文件可能已损坏、不完整或设置了密码；请用Excel打开检查后另存为xlsx（{e}）"
            ),
        )
    })?;
    let names = wb.sheet_names().to_vec();
    // An xlsx keeps its merged ranges after the cells: finding them parses
    // the whole sheet again. That second pass runs on another core while
    // this one reads the cells.
    let is_xlsx = matches!(wb, Sheets::Xlsx(_));
    std::thread::scope(|scope| {
        let merges_job = is_xlsx.then(|| scope.spawn(|| xlsx_merge_ranges(bytes, &names)));
        let mut grids = Vec::with_capacity(names.len());
        let mut own_merges = Vec::with_capacity(names.len());
        for name in &names {
            let (g, merges) = read_sheet(&mut wb, shown, name)?;
            grids.push(g);
            own_merges.push(merges);
        }
        let xlsx: Vec<Vec<calamine::Dimensions>> =
            merges_job.and_then(|h| h.join().ok()).unwrap_or_default();
        for (k, g) in grids.iter_mut().enumerate() {
            let merges = if is_xlsx {
                xlsx.get(k).map(Vec::as_slice).unwrap_or(&[])
            } else {
                own_merges[k].as_slice()
            };
            g.fill_merges(merges);
            for row in &mut g.rows {
                while matches!(row.last(), Some(Cell::Empty)) {
                    row.pop();
                }
            }
        }
        Ok(grids)
    })
}

/// The merged ranges of each named sheet of an xlsx: found by a scan of
/// the sheets ([`merges`]), else from calamine's own reader.
fn xlsx_merge_ranges(bytes: &[u8], names: &[String]) -> Vec<Vec<calamine::Dimensions>> {
    if let Some(found) = merges::merge_ranges(bytes, names) {
        return found;
    }
    let cursor = std::io::Cursor::new(bytes);
    let Ok(mut x) = calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(cursor) else {
        return Vec::new();
    };
    names
        .iter()
        .map(|n| x.merge_cells_by_sheet_name(n).unwrap_or_default())
        .collect()
}

/// One sheet's cells (and, for formats other than xlsx, its merges).
fn read_sheet(
    wb: &mut Sheets<std::io::Cursor<&[u8]>>,
    shown: &str,
    name: &str,
) -> Result<(Grid, Vec<calamine::Dimensions>)> {
    let sheet_err = |e: &dyn std::fmt::Display| {
        MonitorError::input(
            Location {
                file: shown.into(),
                sheet: Some(name.into()),
                ..Default::default()
            },
            format!("无法读取该工作表，文件可能已损坏；请用Excel打开检查后重新保存（{e}）"),
        )
    };
    let mut g = Grid::new(shown, Some(name.to_string()));
    let merges = match wb {
        Sheets::Xlsx(x) => {
            let mut cells = x.worksheet_cells_reader(name).map_err(|e| sheet_err(&e))?;
            while let Some(c) = cells.next_cell_with_formula().map_err(|e| sheet_err(&e))? {
                let (r, col) = c.pos;
                let cell = match (c.value, c.formula) {
                    (DataRef::Empty, Some(f)) if !f.is_empty() => Cell::Uncomputed(f),
                    (d, _) => Cell::from(d),
                };
                g.put(r, col, cell);
            }
            Vec::new()
        }
        other => {
            let merges = match other {
                Sheets::Xls(x) => x.merge_cells_by_sheet_name(name).unwrap_or_default(),
                _ => Vec::new(),
            };
            let range = other.worksheet_range(name).map_err(|e| sheet_err(&e))?;
            for (r, c, d) in range.used_cells() {
                let (r0, c0) = range.start().unwrap_or((0, 0));
                g.put(r0 + r as u32, c0 + c as u32, Cell::from(d));
            }
            merges
        }
    };
    Ok((g, merges))
}

fn read_csv_bytes(bytes: &[u8], shown: &str) -> Result<Grid> {
    CsvFile::open(Origin::Bytes(bytes.into()), shown)?.grid()
}

/// A column the tool looks for, with the header names it accepts (most
/// specific first).
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub key: &'static str,
    pub aliases: &'static [&'static str],
    pub required: bool,
}

/// A located table: which columns hold which fields, and the data rows.
#[derive(Debug, Clone)]
pub struct Table {
    pub file: Arc<str>,
    pub sheet: Option<Arc<str>>,
    /// 1-based row of the (last) header row.
    pub header_row: u32,
    pub cols: FxHashMap<&'static str, usize>,
    rows: Rows,
    /// Cells of the sheet left out or shortened while reading (of a CSV:
    /// returned by [`Table::for_each_row`] as it reads).
    pub notes: Vec<GridNote>,
}

/// Where a table's data rows come from.
#[derive(Debug, Clone)]
enum Rows {
    /// A sheet held in memory (shared, not copied) and its data rows'
    /// 0-based indexes.
    Grid {
        grid: Arc<Grid>,
        data_rows: Vec<usize>,
    },
    /// A CSV read again, record by record.
    Csv { file: CsvFile, filter: RowFilter },
    /// Let go ([`Table::release_rows`]).
    Released,
}

/// Which rows under the header are data: not blank, not a total, footer
/// or example row, not a unit or column-number row right under the header.
#[derive(Debug, Clone, Copy)]
struct RowFilter {
    /// 0-based index of the header row.
    header: usize,
    key_col: Option<usize>,
}

impl RowFilter {
    fn keep(&self, i: usize, row: &[Cell]) -> bool {
        if i <= self.header || row.iter().all(Cell::is_empty) || is_footer_or_total(row) {
            return false;
        }
        // A unit or column-number row right under the header ("元", "1 2 3").
        let unit_row = i == self.header + 1
            && self
                .key_col
                .is_some_and(|k| row.get(k).is_none_or(Cell::is_empty) || is_counter(row.get(k)))
            && row
                .iter()
                .filter(|c| !c.is_empty())
                .all(|c| c.text().chars().count() <= 4 && (is_counter(Some(c)) || is_unit(c)));
        !unit_row
    }
}

impl Table {
    /// Data rows as (1-based spreadsheet row, cells in absolute columns),
    /// of a table located in sheets held in memory ([`locate`]); a table
    /// of a streamed CSV gives its rows through [`Table::for_each_row`].
    pub fn iter(&self) -> impl Iterator<Item = (u32, &[Cell])> + '_ {
        let (grid, rows) = match &self.rows {
            Rows::Grid { grid, data_rows } => (Some(grid), data_rows.as_slice()),
            Rows::Csv { .. } => panic!("Table::iter on a streamed CSV"),
            Rows::Released => (None, &[][..]),
        };
        rows.iter()
            .filter_map(move |&i| Some((i as u32 + 1, grid?.rows[i].as_slice())))
    }

    /// Call `f` with each data row (1-based spreadsheet row, cells in
    /// absolute columns), reading a CSV as it goes. Returns the cells left
    /// out or shortened that reading found (none for sheets held in
    /// memory: those are in `notes`).
    pub fn for_each_row(&self, mut f: impl FnMut(u32, &[Cell])) -> Result<Vec<GridNote>> {
        match &self.rows {
            Rows::Grid { .. } | Rows::Released => {
                for (row_no, row) in self.iter() {
                    f(row_no, row);
                }
                Ok(Vec::new())
            }
            Rows::Csv { file, filter } => guarded(file.shown(), || {
                file.each(|i, row| {
                    if filter.keep(i, row) {
                        f(u32::try_from(i + 1).unwrap_or(u32::MAX), row);
                    }
                    Ok(true)
                })
            }),
        }
    }

    /// [`Table::for_each_row`] in two steps: `read` turns each data row
    /// into a `T`, on every core for a sheet held in memory, and `take`
    /// receives them one by one in row order (a streamed CSV is read and
    /// taken row by row on this thread).
    pub fn for_each_row_read<T: Send>(
        &self,
        read: impl Fn(u32, &[Cell]) -> T + Sync,
        mut take: impl FnMut(T),
    ) -> Result<Vec<GridNote>> {
        let Rows::Grid { grid, data_rows } = &self.rows else {
            return self.for_each_row(|row_no, row| take(read(row_no, row)));
        };
        let read_chunk = |rows: &[usize]| -> Vec<T> {
            rows.iter()
                .map(|&i| read(i as u32 + 1, grid.rows[i].as_slice()))
                .collect()
        };
        in_order(data_rows, READ_CHUNK_ROWS, read_chunk, |chunk| {
            chunk.into_iter().for_each(&mut take)
        });
        Ok(Vec::new())
    }

    /// Let the sheet's cells go, keeping what locates a cell (file, sheet,
    /// columns) for messages.
    pub fn release_rows(&mut self) {
        self.rows = Rows::Released;
    }

    pub fn has(&self, key: &str) -> bool {
        self.cols.contains_key(key)
    }

    pub fn cell<'a>(&self, row: &'a [Cell], key: &str) -> &'a Cell {
        static EMPTY: Cell = Cell::Empty;
        self.cols
            .get(key)
            .and_then(|c| row.get(*c))
            .unwrap_or(&EMPTY)
    }

    /// The table's file and sheet, no row or column.
    pub fn place(&self) -> Location {
        Location {
            file: self.file.clone(),
            sheet: self.sheet.clone(),
            row: None,
            col: None,
        }
    }

    pub fn loc(&self, row_no: u32, key: Option<&str>) -> Location {
        Location {
            file: self.file.clone(),
            sheet: self.sheet.clone(),
            row: Some(row_no),
            col: key.and_then(|k| self.cols.get(k)).map(|c| *c as u32),
        }
    }
}

/// Rows a core reads at a time in [`Table::for_each_row_read`].
const READ_CHUNK_ROWS: usize = 2048;

/// `read` each chunk of `items` on every core, and `take` the results in
/// the items' order as they come. Chunks are started in order, so those
/// waiting to be taken are the few read ahead of the oldest still being
/// read: memory does not grow with the rows. One core, or one chunk: in
/// turn on this thread.
fn in_order<I: Sync, T: Send>(
    items: &[I],
    chunk: usize,
    read: impl Fn(&[I]) -> T + Sync,
    mut take: impl FnMut(T),
) {
    let chunks: Vec<&[I]> = items.chunks(chunk).collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 || chunks.len() < 2 {
        chunks.into_iter().for_each(|c| take(read(c)));
        return;
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (to, from) = std::sync::mpsc::sync_channel::<(usize, T)>(cores * 2);
    std::thread::scope(|s| {
        for _ in 0..cores.min(chunks.len()) {
            let to = to.clone();
            let (next, chunks, read) = (&next, &chunks, &read);
            s.spawn(move || loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(c) = chunks.get(k) else { break };
                if to.send((k, read(c))).is_err() {
                    break;
                }
            });
        }
        drop(to);
        let mut waiting = std::collections::BTreeMap::new();
        let mut due = 0;
        for (k, t) in from {
            waiting.insert(k, t);
            while let Some(t) = waiting.remove(&due) {
                take(t);
                due += 1;
            }
        }
    });
}

const MAX_HEADER_SCAN: usize = 30;

/// Header names of row `r`, taking the cell above where a two-row header
/// leaves a gap (a vertically merged cell read without merge information).
fn header_names(g: &Grid, r: usize) -> Vec<String> {
    let width = g.rows.get(r).map_or(0, Vec::len);
    (0..width)
        .map(|c| {
            let k = header_key(&g.get(r, c).text());
            if k.is_empty() && r > 0 {
                header_key(&g.get(r - 1, c).text())
            } else {
                k
            }
        })
        .collect()
}

/// Match header names to fields: for each field the column whose alias
/// ranks best; a column serves one field only.
fn match_fields(names: &[String], specs: &[FieldSpec]) -> FxHashMap<&'static str, usize> {
    let mut found: FxHashMap<&'static str, usize> = FxHashMap::default();
    let mut used = vec![false; names.len()];
    for spec in specs {
        let best = spec.aliases.iter().find_map(|alias| {
            let a = header_key(alias);
            names
                .iter()
                .enumerate()
                .find(|(c, n)| !used[*c] && **n == a)
                .map(|(c, _)| c)
        });
        if let Some(c) = best {
            used[c] = true;
            found.insert(spec.key, c);
        }
    }
    found
}

/// The example row of a template (`monitor init`): its first cell says so.
pub const EXAMPLE_MARK: &str = "示例";

fn is_footer_or_total(row: &[Cell]) -> bool {
    // Only text cells can say 合计, 填表人…; numbers and dates cannot.
    let mut texts = row.iter().filter(|c| !c.is_empty()).take(3);
    let first = texts.clone().next();
    if let Some(Cell::Text(t)) = first {
        if t.trim().starts_with(EXAMPLE_MARK) {
            return true;
        }
    }
    texts.any(|c| match c {
        Cell::Text(t) => FOOTER_WORDS.iter().any(|w| starts_with_spaced(t, w)),
        _ => false,
    })
}

/// Words that start a total or footer row.
const FOOTER_WORDS: &[&str] = &[
    "合计",
    "小计",
    "总计",
    "填表人",
    "审核人",
    "制表",
    "注：",
    "说明",
];

/// `s` starts with `word` once spaces (ASCII and full-width) are ignored.
fn starts_with_spaced(s: &str, word: &str) -> bool {
    let mut chars = s.chars().filter(|c| *c != ' ' && *c != '\u{3000}');
    word.chars().all(|w| chars.next() == Some(w))
}

/// Find the table described by `specs` in an opened input file.
pub fn locate_in(src: &Source, specs: &[FieldSpec], sheet: Option<&str>) -> Result<Table> {
    let mut t = locate(&src.grids, specs, sheet)?;
    if let Some(file) = &src.csv {
        let Rows::Grid { .. } = &t.rows else {
            unreachable!("located in the head grid")
        };
        let header = t.header_row as usize - 1;
        t.rows = Rows::Csv {
            file: file.clone(),
            filter: RowFilter {
                header,
                key_col: key_column(specs, &t.cols),
            },
        };
    }
    Ok(t)
}

fn key_column(specs: &[FieldSpec], cols: &FxHashMap<&'static str, usize>) -> Option<usize> {
    specs
        .iter()
        .find(|s| s.required)
        .and_then(|s| cols.get(s.key))
        .copied()
}

/// Find the table described by `specs` among `grids` (one file's sheets).
/// With `sheet` set only that sheet is searched. A missing required column
/// is an error naming file, sheet, the header row found and the names
/// accepted.
pub fn locate(grids: &[Arc<Grid>], specs: &[FieldSpec], sheet: Option<&str>) -> Result<Table> {
    let candidates = sheet_candidates(grids, sheet)?;
    let (g, r, cols) = find_header(grids, &candidates, specs)?;
    let filter = RowFilter {
        header: r,
        key_col: key_column(specs, &cols),
    };
    let data_rows = (r + 1..g.rows.len())
        .filter(|&i| filter.keep(i, &g.rows[i]))
        .collect();
    Ok(Table {
        file: g.file.clone(),
        sheet: g.sheet.clone(),
        header_row: r as u32 + 1,
        cols,
        rows: Rows::Grid {
            grid: Arc::clone(g),
            data_rows,
        },
        notes: g.notes.clone(),
    })
}

fn sheet_candidates<'g>(grids: &'g [Arc<Grid>], sheet: Option<&str>) -> Result<Vec<&'g Arc<Grid>>> {
    let Some(name) = sheet else {
        return Ok(grids.iter().collect());
    };
    let g = grids
        .iter()
        .filter(|g| g.sheet.as_deref() == Some(name))
        .collect::<Vec<_>>();
    if g.is_empty() {
        let avail: Vec<&str> = grids.iter().filter_map(|g| g.sheet.as_deref()).collect();
        return Err(MonitorError::input(
            grids
                .first()
                .map(|g| Location::file(&g.file))
                .unwrap_or_default(),
            format!(
                "找不到工作表“{name}”；文件中的工作表有：{}",
                avail.join("、")
            ),
        ));
    }
    Ok(g)
}

/// The best header row among the candidate sheets: (sheet, 0-based row,
/// columns found).
fn find_header<'g>(
    grids: &[Arc<Grid>],
    candidates: &[&'g Arc<Grid>],
    specs: &[FieldSpec],
) -> Result<(&'g Arc<Grid>, usize, FxHashMap<&'static str, usize>)> {
    // Best header candidate: (required matched, total matched, grid, row, columns).
    type Candidate<'g> = (
        usize,
        usize,
        &'g Arc<Grid>,
        usize,
        FxHashMap<&'static str, usize>,
    );
    let mut best: Option<Candidate> = None;
    for g in candidates {
        for r in 0..g.rows.len().min(MAX_HEADER_SCAN) {
            let names = header_names(g, r);
            let found = match_fields(&names, specs);
            let req = specs
                .iter()
                .filter(|s| s.required && found.contains_key(s.key))
                .count();
            let score = (req, found.len());
            if best.as_ref().is_none_or(|b| score > (b.0, b.1)) {
                best = Some((req, found.len(), g, r, found));
            }
        }
    }
    let Some((_, total, g, r, cols)) = best else {
        return Err(MonitorError::input(
            grids.first().map(|g| g.loc()).unwrap_or_default(),
            "文件中没有任何数据",
        ));
    };
    let missing: Vec<&FieldSpec> = specs
        .iter()
        .filter(|s| s.required && !cols.contains_key(s.key))
        .collect();
    if !missing.is_empty() {
        let detail: Vec<String> = missing
            .iter()
            .map(|s| format!("“{}”（可用列名：{}）", s.key, s.aliases.join("、")))
            .collect();
        let mut loc = g.loc();
        if total > 0 {
            loc.row = Some(r as u32 + 1);
        }
        return Err(MonitorError::input(
            loc,
            format!("表头中缺少必需的列：{}", detail.join("；")),
        ));
    }
    Ok((g, r, cols))
}

fn is_counter(c: Option<&Cell>) -> bool {
    match c {
        Some(Cell::Int(i)) => *i < 100,
        Some(Cell::Float(f)) => f.fract() == 0.0 && *f < 100.0,
        Some(Cell::Text(s)) => s.trim().len() <= 2 && s.trim().chars().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}

fn is_unit(c: &Cell) -> bool {
    let t = header_key(&c.text());
    ["元", "人", "户", "个", "月", "(元)", "(人)", "是/否", "亩"].contains(&t.as_str())
        || t.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks read on several cores are taken in order even when a later
    /// chunk is done first (the first one is made slow here).
    #[test]
    fn chunks_read_on_every_core_are_taken_in_order() {
        let items: Vec<u32> = (0..1000).collect();
        let mut taken = Vec::new();
        in_order(
            &items,
            10,
            |c: &[u32]| {
                if c[0] == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                c.to_vec()
            },
            |c| taken.extend(c),
        );
        assert_eq!(taken, items);
    }

    const SPECS: &[FieldSpec] = &[
        FieldSpec {
            key: "户编号",
            aliases: &["户编号", "户码"],
            required: true,
        },
        FieldSpec {
            key: "户主姓名",
            aliases: &["户主姓名", "户主", "姓名"],
            required: true,
        },
        FieldSpec {
            key: "工资性收入",
            aliases: &["工资性收入"],
            required: false,
        },
    ];

    fn grid(rows: Vec<Vec<&str>>) -> Grid {
        Grid {
            file: "t.csv".into(),
            sheet: None,
            notes: Vec::new(),
            width: 0,
            rows: rows
                .into_iter()
                .map(|r| {
                    r.into_iter()
                        .map(|s| {
                            if s.is_empty() {
                                Cell::Empty
                            } else {
                                Cell::Text(s.into())
                            }
                        })
                        .collect()
                })
                .collect(),
        }
    }

    #[test]
    fn finds_header_below_title_rows_and_two_row_headers() {
        let g = grid(vec![
            vec!["某某镇农户收入表"],
            vec!["填报单位：某村", "", "2020年3月"],
            vec!["户码", "户主", "收入情况"],
            vec!["", "", "工资性收入（元）"],
            vec!["1", "2", "3"],
            vec!["H001", "张三", "1,000"],
            vec![""],
            vec!["合计", "", "1000"],
        ]);
        let t = locate(&[Arc::new(g)], SPECS, None).unwrap();
        assert_eq!(t.header_row, 4);
        assert_eq!(t.cols["户编号"], 0);
        assert_eq!(t.cols["工资性收入"], 2);
        let rows: Vec<(u32, &[Cell])> = t.iter().collect();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, 6);
        assert_eq!(t.cell(rows[0].1, "户主姓名").text(), "张三");
    }

    #[test]
    fn missing_required_column_names_it_and_the_aliases() {
        let g = grid(vec![vec!["户编号", "工资性收入"], vec!["1", "2"]]);
        let e = locate(&[Arc::new(g)], SPECS, None).unwrap_err().to_string();
        assert!(e.contains("户主姓名"), "{e}");
        assert!(e.contains("第1行"), "{e}");
    }

    #[test]
    fn csv_in_gbk_and_utf8_bom() {
        let text = "户编号,户主姓名\nH1,张三\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let g = read_csv_bytes(&gbk, "a.csv").unwrap();
        assert_eq!(g.get(1, 1).text(), "张三");
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice(text.as_bytes());
        let g = read_csv_bytes(&bom, "b.csv").unwrap();
        assert_eq!(g.get(0, 0).text(), "户编号");
        let tab = "户编号\t户主姓名\nH1\t李四\n";
        let g = read_csv_bytes(tab.as_bytes(), "c.txt").unwrap();
        assert_eq!(g.get(1, 1).text(), "李四");
    }

    fn record(typ: u16, data: &[u8]) -> Vec<u8> {
        let mut v = typ.to_le_bytes().to_vec();
        v.extend((data.len() as u16).to_le_bytes());
        v.extend(data);
        v
    }

    fn number(r: u16, c: u16) -> Vec<u8> {
        let mut d = r.to_le_bytes().to_vec();
        d.extend(c.to_le_bytes());
        d.extend([0u8; 10]);
        record(0x0203, &d)
    }

    #[test]
    fn xls_cells_far_apart_are_measured_before_reading() {
        let bof = record(0x0809, &[0u8; 16]);
        let dense: Vec<u8> = [
            bof.clone(),
            number(0, 0),
            number(0, 1),
            number(1, 0),
            number(1, 1),
        ]
        .concat();
        assert_eq!(xls_excess(&dense), Some((0, (1, 1))));
        let stray: Vec<u8> = [bof.clone(), number(0, 0), number(65535, 255)].concat();
        let (excess, far) = xls_excess(&stray).unwrap();
        assert_eq!(excess, 65536 * 256 - 2);
        assert_eq!(far, (65535, 255));
        // Each sheet is its own grid: two small sheets are not one big one.
        let two: Vec<u8> = [bof.clone(), number(0, 0), bof, number(60000, 200)].concat();
        assert_eq!(xls_excess(&two).unwrap().0, 0);
    }

    #[test]
    fn ods_cells_far_apart_are_measured_before_reading() {
        let dense = r#"<office:body><table:table table:name="a"><table:table-row><table:table-cell office:value-type="string"><text:p>户编号</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="1"/></table:table-row></table:table>"#;
        assert_eq!(ods_excess(dense).0, 0);
        let far = r#"<table:table table:name="a"><table:table-row><table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row><table:table-row table:number-rows-repeated="999999"><table:table-cell table:number-columns-repeated="1024"/></table:table-row><table:table-row><table:table-cell table:number-columns-repeated="40"/><table:table-cell office:value-type="string"><text:p>y</text:p></table:table-cell></table:table-row></table:table>"#;
        let (excess, at) = ods_excess(far);
        assert_eq!(at, (1_000_000, 40));
        assert!(excess > 40_000_000, "{excess}");
    }

    #[test]
    fn a_streamed_xlsx_cell_reads_as_the_same_cell_as_a_whole_sheet_gives_it() {
        use calamine::{CellErrorType, ExcelDateTime, ExcelDateTimeType};
        let date = ExcelDateTime::new(43900.0, ExcelDateTimeType::DateTime, false);
        let cases = [
            DataRef::Empty,
            DataRef::SharedString("  甲村 "),
            DataRef::SharedString(" \t"),
            DataRef::String("4,428元".to_string()),
            DataRef::String(String::new()),
            DataRef::Float(1234.5),
            DataRef::Int(532504),
            DataRef::Bool(true),
            DataRef::DateTime(date),
            DataRef::DateTimeIso("2020-03-10".to_string()),
            DataRef::DurationIso("PT1H".to_string()),
            DataRef::Error(CellErrorType::Div0),
        ];
        for d in cases {
            let whole = Cell::from(&Data::from(d.clone()));
            assert_eq!(Cell::from(d.clone()), whole, "{d:?}");
        }
        assert_eq!(
            Cell::from(DataRef::SharedString("  甲村 ")),
            Cell::Text("  甲村 ".into())
        );
        assert_eq!(Cell::from(DataRef::SharedString(" \t")), Cell::Empty);
    }

    #[test]
    fn the_lian_tong_trap_is_gbk() {
        // GBK bytes of "联通" look like UTF-8 to a loose check.
        let bytes = [0xC1, 0xAA, 0xCD, 0xA8, b'\n'];
        assert_eq!(sniff_encoding(&bytes), encoding_rs::GB18030);
        assert_eq!(
            read_csv_bytes(&bytes, "x").unwrap().get(0, 0).text(),
            "联通"
        );
    }
}

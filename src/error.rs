//! Errors that stop a run. Each carries a Chinese message for the clerk and
//! maps to a documented process exit code (see README "退出码").

use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;

/// Where in an input file something was found. Rows and columns are shown
/// the way a spreadsheet shows them (row 1-based, column letters). File
/// and sheet names are shared (every household read keeps its location).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    pub file: Arc<str>,
    pub sheet: Option<Arc<str>>,
    /// 1-based spreadsheet row number.
    pub row: Option<u32>,
    /// 0-based column index; rendered as a letter.
    pub col: Option<u32>,
}

impl Location {
    pub fn file(path: impl AsRef<str>) -> Self {
        Location {
            file: path.as_ref().into(),
            ..Default::default()
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "文件“{}”", self.file)?;
        if let Some(s) = &self.sheet {
            write!(f, " 工作表“{s}”")?;
        }
        if let Some(r) = self.row {
            write!(f, " 第{r}行")?;
        }
        if let Some(c) = self.col {
            write!(f, " {}列", col_letter(c))?;
        }
        Ok(())
    }
}

/// Spreadsheet column letter for a 0-based index (0 → A, 26 → AA).
pub fn col_letter(mut c: u32) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

#[derive(Debug, Error)]
pub enum MonitorError {
    #[error("配置错误：{0}")]
    Config(String),

    #[error("输入错误：{loc}：{msg}")]
    Input { loc: Location, msg: String },

    #[error("规则文件错误：{path}：{msg}")]
    Rules { path: PathBuf, msg: String },

    #[error("写出结果失败：{path}：{msg}")]
    Output { path: PathBuf, msg: String },

    #[error("工作区正被另一次运行占用：{0}")]
    Busy(String),

    #[error("监测历史库错误：{path}：{msg}")]
    Store { path: PathBuf, msg: String },

    #[error("{0}")]
    Refused(String),

    #[error("程序内部错误：{0}。请把这条信息和所用的输入文件报告给维护人员；已有的结果和监测历史库没有改动")]
    Internal(String),
}

impl MonitorError {
    pub fn input(loc: Location, msg: impl Into<String>) -> Self {
        MonitorError::Input {
            loc,
            msg: msg.into(),
        }
    }

    /// Process exit code for this error (documented in README).
    pub fn exit_code(&self) -> i32 {
        match self {
            MonitorError::Config(_) => 3,
            MonitorError::Input { .. } => 4,
            MonitorError::Rules { .. } => 5,
            MonitorError::Output { .. } => 6,
            MonitorError::Busy(_) => 7,
            MonitorError::Store { .. } => 8,
            MonitorError::Refused(_) => 9,
            MonitorError::Internal(_) => 12,
        }
    }
}

pub type Result<T, E = MonitorError> = std::result::Result<T, E>;

/// Characters of a cell value shown in a message.
const SHOWN_CHARS: usize = 40;

/// A cell value as shown in a message: its first 40 characters, control
/// characters escaped, and the full length when it was cut.
pub fn shorten(s: &str) -> String {
    let n = s.chars().count();
    let mut out: String = s
        .chars()
        .take(SHOWN_CHARS)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if n > SHOWN_CHARS {
        out.push_str(&format!("…（共{n}个字符）"));
    }
    out
}

/// A file-system error in the clerk's words, with the system's text after.
pub fn io_detail(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    let what = match e.kind() {
        PermissionDenied => "没有读写权限，或文件正被其他程序（如 Excel、WPS）占用",
        NotFound => "路径不存在",
        StorageFull => "磁盘已满，请腾出空间",
        AlreadyExists => "同名文件已存在",
        ReadOnlyFilesystem => "磁盘只读",
        _ => "读写文件失败",
    };
    format!("{what}（技术信息：{e}）")
}

/// An xlsx writer error in the clerk's words.
pub fn xlsx_detail(e: &dyn std::fmt::Display) -> String {
    format!("生成表格文件时出错，请检查磁盘空间和写入权限后重新运行（技术信息：{e}）")
}

/// A TOML error in the clerk's words: where (line and column) and what to
/// check, with the parser's own text after.
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let place = e
        .span()
        .map(|sp| {
            let before = &text[..sp.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("第{line}行第{col}列附近")
        })
        .unwrap_or_default();
    format!(
        "{place}格式不对：请检查该处的引号、等号、方括号是否成对，键名是否写错（技术信息：{}）",
        e.message().trim()
    )
}

thread_local! {
    static QUIET_PANIC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}
static PANIC_HOOK: std::sync::Once = std::sync::Once::new();

/// Run `f`, turning a panic (inside a library, say) into `Err` with its
/// message; the default panic output is kept off the clerk's screen.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANIC.with(|q| q.get()) {
                previous(info);
            }
        }));
    });
    let was = QUIET_PANIC.with(|q| q.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET_PANIC.with(|q| q.set(was));
    r.map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "未知错误".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(col_letter(0), "A");
        assert_eq!(col_letter(25), "Z");
        assert_eq!(col_letter(26), "AA");
        assert_eq!(col_letter(27), "AB");
        assert_eq!(col_letter(701), "ZZ");
        assert_eq!(col_letter(702), "AAA");
    }

    #[test]
    fn long_values_are_shortened_and_control_characters_escaped() {
        assert_eq!(shorten("张三"), "张三");
        let long = "长".repeat(40_000);
        let s = shorten(&long);
        assert!(s.chars().count() < 70, "{s}");
        assert!(s.contains("40000"), "{s}");
        assert_eq!(shorten("a\u{1b}[31mb"), "a\\u{1b}[31mb");
    }

    #[test]
    fn toml_errors_say_where_in_chinese() {
        let text = "[run]\nrules = \"a.toml\"\nout = \n";
        let e = toml::from_str::<toml::Table>(text).unwrap_err();
        let m = toml_error(text, &e);
        assert!(m.starts_with("第3行"), "{m}");
        assert!(m.contains("格式不对"), "{m}");
    }

    #[test]
    fn a_panic_becomes_an_error() {
        let r: std::result::Result<(), String> = catch_panic(|| panic!("boom"));
        assert_eq!(r.unwrap_err(), "boom");
        assert_eq!(catch_panic(|| 5).unwrap(), 5);
    }

    #[test]
    fn location_renders_file_sheet_row_column() {
        let loc = Location {
            file: "农户.xlsx".into(),
            sheet: Some("Sheet1".into()),
            row: Some(5),
            col: Some(2),
        };
        assert_eq!(loc.to_string(), "文件“农户.xlsx” 工作表“Sheet1” 第5行 C列");
    }
}

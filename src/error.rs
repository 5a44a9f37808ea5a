//! Errors that stop a run. Each carries a Chinese message for the clerk and
//! maps to a documented process exit code (see README "退出码").

use std::path::PathBuf;
use thiserror::Error;

/// Where in an input file something was found. Rows and columns are shown
/// the way a spreadsheet shows them (row 1-based, column letters).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    pub file: String,
    pub sheet: Option<String>,
    /// 1-based spreadsheet row number.
    pub row: Option<u32>,
    /// 0-based column index; rendered as a letter.
    pub col: Option<u32>,
}

impl Location {
    pub fn file(path: impl Into<String>) -> Self {
        Location {
            file: path.into(),
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
        }
    }
}

pub type Result<T, E = MonitorError> = std::result::Result<T, E>;

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

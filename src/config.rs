//! The workspace configuration `monitor.toml` and command-line overrides.
//! Paths in the file are relative to the file's folder; `{month}` in a
//! path is replaced by the run month (`2020-03`).

use crate::error::{MonitorError, Result};
use crate::validate::{InputSpec, Inputs};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum InputDef {
    Path(String),
    Table {
        path: String,
        #[serde(default)]
        sheet: Option<String>,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(InputDef),
    Many(Vec<InputDef>),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSection {
    pub rules: Option<String>,
    pub out: Option<String>,
    /// The folder of the county's own form files (default `forms`).
    pub forms: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputsSection {
    pub households: Option<InputDef>,
    pub income: Option<InputDef>,
    pub expenses: Option<OneOrMany>,
    pub members: Option<InputDef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistorySection {
    /// The SQLite file of the monitoring history.
    pub store: Option<String>,
}

/// Settings of the files posted or sent beyond the county office.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicSection {
    /// Who takes objections to the 公告 (name and phone of the office).
    pub contact: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub public: PublicSection,
    #[serde(default)]
    pub run: RunSection,
    #[serde(default)]
    pub inputs: InputsSection,
    #[serde(default)]
    pub history: HistorySection,
}

/// Default store file name, inside the workspace.
pub const DEFAULT_STORE: &str = "monitor-history.sqlite";

/// Values given on the command line (relative to the current folder).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub rules: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub households: Option<PathBuf>,
    pub income: Option<PathBuf>,
    pub expenses: Vec<PathBuf>,
    pub members: Option<PathBuf>,
    pub store: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// First day of the month run, from a strictly checked `YYYY-MM`.
    pub month: chrono::NaiveDate,
    pub rules: PathBuf,
    pub out: PathBuf,
    pub inputs: Inputs,
    pub workspace: PathBuf,
    pub store: PathBuf,
    pub public: crate::report::public::PublicSettings,
    /// The folder whose form files override the bundled ones.
    pub forms: PathBuf,
}

fn forms_path(cfg: &ConfigFile, base: &Path) -> PathBuf {
    resolve(base, cfg.run.forms.as_deref().unwrap_or("forms"), "")
}

/// The forms folder of the workspace whose monitor.toml is `config` (or
/// the current folder's).
pub fn forms_dir(config: Option<&Path>) -> Result<PathBuf> {
    let (cfg, base) = load(config)?;
    Ok(forms_path(&cfg, &base))
}

/// The history store's path from flags, file or default.
pub fn store_path(cfg: &ConfigFile, base: &Path, o: &Overrides) -> PathBuf {
    match (&o.store, &cfg.history.store) {
        (Some(p), _) => p.clone(),
        (None, Some(s)) => resolve(base, s, ""),
        (None, None) => base.join(DEFAULT_STORE),
    }
}

pub const DEFAULT_CONFIG: &str = "monitor.toml";

/// Read `monitor.toml` (if `path` is None, `./monitor.toml` when present).
pub fn load(path: Option<&Path>) -> Result<(ConfigFile, PathBuf)> {
    let (file, explicit) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_CONFIG), false),
    };
    if !file.exists() {
        if explicit {
            return Err(MonitorError::Config(format!(
                "找不到配置文件“{}”",
                file.display()
            )));
        }
        return Ok((ConfigFile::default(), PathBuf::from(".")));
    }
    let text = std::fs::read_to_string(&file).map_err(|e| {
        MonitorError::Config(format!(
            "无法读取“{}”：{}",
            file.display(),
            crate::error::io_detail(&e)
        ))
    })?;
    let cfg: ConfigFile = toml::from_str(&text).map_err(|e| {
        MonitorError::Config(format!(
            "“{}”{}",
            file.display(),
            crate::error::toml_error(&text, &e)
        ))
    })?;
    let base = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok((cfg, base))
}

fn resolve(base: &Path, s: &str, month: &str) -> PathBuf {
    let p = PathBuf::from(s.replace("{month}", month));
    if p.is_absolute() {
        p
    } else {
        base.join(p)
    }
}

fn spec(base: &Path, d: &InputDef, month: &str) -> InputSpec {
    match d {
        InputDef::Path(p) => InputSpec {
            path: resolve(base, p, month),
            sheet: None,
        },
        InputDef::Table { path, sheet } => InputSpec {
            path: resolve(base, path, month),
            sheet: sheet.clone(),
        },
    }
}

fn cli(p: &Path) -> InputSpec {
    InputSpec {
        path: p.to_path_buf(),
        sheet: None,
    }
}

/// Combine the file and the flags into what this run reads and writes.
/// The month must be exactly `YYYY-MM`; only its normalised form is put
/// into paths.
pub fn plan(cfg: &ConfigFile, base: &Path, o: &Overrides, month: &str) -> Result<Plan> {
    let month_start = crate::normalize::parse_month_arg(month).map_err(MonitorError::Config)?;
    let key = month_start.format("%Y-%m").to_string();
    let month = key.as_str();
    let households = match (&o.households, &cfg.inputs.households) {
        (Some(p), _) => cli(p),
        (None, Some(d)) => spec(base, d, month),
        (None, None) => {
            return Err(MonitorError::Config(
                "没有指定农户信息文件：请在 monitor.toml 的 [inputs] 中写 households = \"…\"，或使用 --households".into(),
            ))
        }
    };
    let rules = match (&o.rules, &cfg.run.rules) {
        (Some(p), _) => p.clone(),
        (None, Some(s)) => resolve(base, s, month),
        (None, None) => {
            return Err(MonitorError::Config(
                "没有指定规则文件：请在 monitor.toml 的 [run] 中写 rules = \"rules/…toml\"，或使用 --rules".into(),
            ))
        }
    };
    let out = match (&o.out, &cfg.run.out) {
        (Some(p), _) => p.clone(),
        (None, Some(s)) => resolve(base, s, month),
        (None, None) => base.join("out"),
    };
    let income = match (&o.income, &cfg.inputs.income) {
        (Some(p), _) => Some(cli(p)),
        (None, Some(d)) => Some(spec(base, d, month)),
        _ => None,
    };
    let expenses = if !o.expenses.is_empty() {
        o.expenses.iter().map(|p| cli(p)).collect()
    } else {
        match &cfg.inputs.expenses {
            None => Vec::new(),
            Some(OneOrMany::One(d)) => vec![spec(base, d, month)],
            Some(OneOrMany::Many(v)) => v.iter().map(|d| spec(base, d, month)).collect(),
        }
    };
    let members = match (&o.members, &cfg.inputs.members) {
        (Some(p), _) => Some(cli(p)),
        (None, Some(d)) => Some(spec(base, d, month)),
        _ => None,
    };
    refuse_repeated_inputs(&households, &income, &expenses, &members)?;
    Ok(Plan {
        month: month_start,
        rules,
        out,
        inputs: Inputs {
            households,
            income,
            expenses,
            members,
        },
        workspace: base.to_path_buf(),
        forms: forms_path(cfg, base),
        store: store_path(cfg, base, o),
        public: crate::report::public::PublicSettings {
            contact: cfg.public.contact.clone(),
        },
    })
}

/// The same file (and sheet) given twice would count every record twice.
fn refuse_repeated_inputs(
    households: &InputSpec,
    income: &Option<InputSpec>,
    expenses: &[InputSpec],
    members: &Option<InputSpec>,
) -> Result<()> {
    let key = |s: &InputSpec| {
        let path = std::fs::canonicalize(&s.path).unwrap_or_else(|_| {
            s.path
                .components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .collect()
        });
        (path, s.sheet.clone())
    };
    let all: Vec<(&str, &InputSpec)> = std::iter::once(("农户信息", households))
        .chain(income.iter().map(|s| ("收入", s)))
        .chain(expenses.iter().map(|s| ("刚性支出", s)))
        .chain(members.iter().map(|s| ("家庭成员", s)))
        .collect();
    for (i, (what, a)) in all.iter().enumerate() {
        for (other, b) in &all[..i] {
            // One workbook may hold several inputs on different sheets, or
            // one sheet read for its different columns; one expense table
            // twice is the mistake.
            if *what == "刚性支出" && *other == "刚性支出" && key(a) == key(b) {
                return Err(MonitorError::Config(format!(
                    "刚性支出文件“{}”{}配置了两次，其中的每条记录会被重复计算；请在 monitor.toml 或命令行中只写一次",
                    a.path.display(),
                    a.sheet
                        .as_deref()
                        .map(|s| format!("（工作表“{s}”）"))
                        .unwrap_or_default()
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_placeholder_and_relative_paths() {
        let cfg: ConfigFile = toml::from_str(
            r#"
[run]
rules = "rules/mile-2020.toml"
[inputs]
households = { path = "data/{month}/农户.xlsx", sheet = "农户" }
expenses = ["data/{month}/a.csv", "data/{month}/b.csv"]
"#,
        )
        .unwrap();
        let p = plan(&cfg, Path::new("/ws"), &Overrides::default(), "2020-03").unwrap();
        assert_eq!(
            p.inputs.households.path,
            PathBuf::from("/ws/data/2020-03/农户.xlsx")
        );
        assert_eq!(p.inputs.households.sheet.as_deref(), Some("农户"));
        assert_eq!(p.inputs.expenses.len(), 2);
        assert_eq!(p.out, PathBuf::from("/ws/out"));
        assert_eq!(p.rules, PathBuf::from("/ws/rules/mile-2020.toml"));
    }

    #[test]
    fn flags_override_and_missing_inputs_are_explained() {
        let cfg = ConfigFile::default();
        let e = plan(&cfg, Path::new("."), &Overrides::default(), "2020-03").unwrap_err();
        assert!(e.to_string().contains("--households"));
        let o = Overrides {
            households: Some("h.csv".into()),
            rules: Some("r.toml".into()),
            ..Default::default()
        };
        let p = plan(&cfg, Path::new("."), &o, "2020-03").unwrap();
        assert_eq!(p.inputs.households.path, PathBuf::from("h.csv"));
    }

    #[test]
    fn only_the_normalised_month_reaches_paths() {
        let cfg: ConfigFile = toml::from_str(
            "[run]\nrules = 'r.toml'\nout = 'results/{month}'\n[inputs]\nhouseholds = 'h.csv'",
        )
        .unwrap();
        let e = plan(
            &cfg,
            Path::new("/ws"),
            &Overrides::default(),
            "2020-03/../../x",
        );
        assert!(matches!(e, Err(MonitorError::Config(_))));
        let p = plan(&cfg, Path::new("/ws"), &Overrides::default(), "2020-03").unwrap();
        assert_eq!(p.out, PathBuf::from("/ws/results/2020-03"));
    }

    #[test]
    fn one_expense_file_twice_is_refused() {
        let cfg: ConfigFile = toml::from_str(
            "[run]\nrules = 'r.toml'\n[inputs]\nhouseholds = 'h.xlsx'\nexpenses = ['e.csv', './e.csv']",
        )
        .unwrap();
        let e = plan(&cfg, Path::new("."), &Overrides::default(), "2020-03").unwrap_err();
        assert!(e.to_string().contains("两次"), "{e}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<ConfigFile>("[run]\nrulez = \"x\"").is_err());
    }
}

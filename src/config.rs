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

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
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
    pub rules: PathBuf,
    pub out: PathBuf,
    pub inputs: Inputs,
    pub workspace: PathBuf,
    pub store: PathBuf,
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
    let text = std::fs::read_to_string(&file)
        .map_err(|e| MonitorError::Config(format!("无法读取“{}”：{e}", file.display())))?;
    let cfg: ConfigFile = toml::from_str(&text)
        .map_err(|e| MonitorError::Config(format!("“{}”格式错误：{e}", file.display())))?;
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
pub fn plan(cfg: &ConfigFile, base: &Path, o: &Overrides, month: &str) -> Result<Plan> {
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
    Ok(Plan {
        rules,
        out,
        inputs: Inputs {
            households,
            income,
            expenses,
            members,
        },
        workspace: base.to_path_buf(),
        store: store_path(cfg, base, o),
    })
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
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<ConfigFile>("[run]\nrulez = \"x\"").is_err());
    }
}

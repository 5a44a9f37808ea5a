//! Forms as data. Each annex form's layout is a TOML file under `forms/`
//! (bundled into the program); a workspace may override any form with a
//! file of the same name in its `forms/` folder (`monitor forms export`
//! writes the bundled ones there to edit). One writer ([`render`]) turns a
//! form and a household's (or a 村's) [`fields`] into a printed page.

pub mod fields;
pub mod render;
pub mod spec;

use crate::error::{Location, MonitorError, Result};
use crate::report::{by_township, ReportCtx, RiskRow};
use fields::{Fields, Scope, V};
use render::Formats;
use spec::{FormSpec, Unit};
use std::path::{Path, PathBuf};

/// The bundled forms: (file stem, TOML).
pub const BUNDLED: &[(&str, &str)] = &[
    (
        "附件1-2 申请书",
        include_str!("../../forms/附件1-2 申请书.toml"),
    ),
    (
        "附件3-1 调查表",
        include_str!("../../forms/附件3-1 调查表.toml"),
    ),
    (
        "附件3-2 收支测算表",
        include_str!("../../forms/附件3-2 收支测算表.toml"),
    ),
    (
        "附件4 帮扶措施表",
        include_str!("../../forms/附件4 帮扶措施表.toml"),
    ),
    (
        "附件5-6 研判表",
        include_str!("../../forms/附件5-6 研判表.toml"),
    ),
];

/// Excel allows 1023 manual page breaks per sheet.
const PER_SHEET: usize = 1000;

/// One form, from the program or from the workspace.
#[derive(Debug, Clone)]
pub struct Form {
    pub key: &'static str,
    pub spec: FormSpec,
    /// Where it came from (内置, or the override's path).
    pub source: String,
}

/// The forms a run writes.
#[derive(Debug, Clone)]
pub struct Forms {
    pub application: Form,
    pub survey: Form,
    pub budget: Form,
    pub measures: Form,
    pub review: Form,
}

fn scope(unit: Unit) -> Scope {
    match unit {
        Unit::Household => Scope::Household,
        Unit::Village => Scope::Village,
    }
}

/// Parse and check one form file.
pub fn parse(key: &'static str, text: &str, source: &str) -> Result<Form> {
    let bad = |msg: String| MonitorError::Config(format!("表样文件 {source} 有误：{msg}"));
    let spec: FormSpec =
        toml::from_str(text).map_err(|e| bad(crate::error::toml_error(text, &e)))?;
    let errs = spec::check(&spec, scope(spec.unit));
    if !errs.is_empty() {
        return Err(bad(format!("\n  {}", errs.join("\n  "))));
    }
    let want = if key.starts_with("附件5") {
        Unit::Village
    } else {
        Unit::Household
    };
    if spec.unit != want {
        return Err(bad(format!(
            "unit 应为 \"{}\"",
            if want == Unit::Village {
                "village"
            } else {
                "household"
            }
        )));
    }
    Ok(Form {
        key,
        spec,
        source: source.to_string(),
    })
}

/// The bundled forms, each replaced by `<dir>/<name>.toml` when that exists.
pub fn load(dir: Option<&Path>) -> Result<Forms> {
    let mut got = Vec::new();
    for (key, text) in BUNDLED {
        let own = dir
            .map(|d| d.join(format!("{key}.toml")))
            .filter(|p| p.is_file());
        let form = match own {
            Some(p) => {
                let text = std::fs::read_to_string(&p).map_err(|e| {
                    MonitorError::input(
                        Location::file(p.display().to_string()),
                        crate::error::io_detail(&e),
                    )
                })?;
                parse(key, &text, &p.display().to_string())?
            }
            None => parse(key, text, &format!("（内置）{key}.toml"))?,
        };
        got.push(form);
    }
    let mut it = got.into_iter();
    let mut next = || it.next().expect("one form per bundled file");
    Ok(Forms {
        application: next(),
        survey: next(),
        budget: next(),
        measures: next(),
        review: next(),
    })
}

/// The bundled forms (checked by a unit test, so this cannot fail).
pub fn bundled() -> &'static Forms {
    static FORMS: std::sync::LazyLock<Forms> =
        std::sync::LazyLock::new(|| load(None).expect("bundled forms are valid"));
    &FORMS
}

/// Write the bundled forms into `dir` to be edited; existing files are
/// kept (listed as kept), never overwritten.
pub fn export(dir: &Path) -> Result<Vec<(PathBuf, bool)>> {
    let io = |p: &Path, e: std::io::Error| MonitorError::Output {
        path: p.to_path_buf(),
        msg: crate::error::io_detail(&e),
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut out = Vec::new();
    for (key, text) in BUNDLED {
        let p = dir.join(format!("{key}.toml"));
        if p.exists() {
            out.push((p, false));
            continue;
        }
        std::fs::write(&p, text).map_err(|e| io(&p, e))?;
        out.push((p, true));
    }
    let p = dir.join("字段说明.txt");
    std::fs::write(&p, field_reference()).map_err(|e| io(&p, e))?;
    out.push((p, true));
    Ok(out)
}

/// The fields a form file may use, in words.
pub fn field_reference() -> String {
    let mut s = String::from(
        "表样文件可用的字段（text 中写 {字段}，value 写字段名；formula 中 {@名称} 指本户带 name 的格）\n\n户表（附件1–4，unit = \"household\"）：\n",
    );
    for (k, d) in fields::HOUSEHOLD {
        s.push_str(&format!("  {k}　{d}\n"));
    }
    for (l, items) in fields::HOUSEHOLD_LISTS {
        s.push_str(&format!("  each = \"{l}\" 的行：{}\n", items.join("、")));
    }
    s.push_str("\n研判表（附件5/6，unit = \"village\"，每村一页）：\n");
    for (k, d) in fields::VILLAGE {
        s.push_str(&format!("  {k}　{d}\n"));
    }
    for (l, items) in fields::VILLAGE_LISTS {
        s.push_str(&format!("  each = \"{l}\" 的行：{}\n", items.join("、")));
    }
    s.push_str("\n样式 style：title subtitle header label text center wrap money int pct sign line letter note page\n");
    s
}

/// Households per workbook of a per-household form: a workbook holds
/// each written row's settings until it is saved, so a large county's form
/// continues in a second file (“…（2）.xlsx”) instead of growing without
/// bound. `MONITOR_FORMS_PER_FILE` sets another limit.
pub const PER_BOOK: usize = 4000;

fn per_book() -> usize {
    std::env::var("MONITOR_FORMS_PER_FILE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(PER_BOOK)
}

/// The k-th file (0-based) of a form: the name itself, then “名（2）.xlsx”…
pub fn part_path(path: &Path, k: usize) -> PathBuf {
    if k == 0 {
        return path.to_path_buf();
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    path.with_file_name(format!("{stem}（{}）.xlsx", k + 1))
}

/// Write a per-household form: one sheet per 乡镇, one printed page per
/// household, in as many files as [`PER_BOOK`] asks. `extra` adds the
/// form's own fields (附件号, 表名…). Returns the files written.
pub fn write_households(
    ctx: &ReportCtx,
    form: &Form,
    rows: &[RiskRow],
    extra: &dyn Fn(&mut Fields),
    path: &Path,
) -> Result<Vec<PathBuf>> {
    let fm = Formats::new();
    let mut head = Fields::default();
    fields::common(ctx, &mut head);
    extra(&mut head);
    let title = head.get("表名").map(V::text).unwrap_or_default();
    let groups = by_township(rows.iter(), PER_SHEET.min(per_book()));
    let mut written = Vec::new();
    let mut wb = render::workbook(ctx, &title);
    if groups.is_empty() {
        render::write_empty(&mut wb, form, &head, &fm).map_err(render::err(path))?;
    }
    let mut used = Vec::new();
    let mut in_book = 0;
    for (town, list) in groups {
        if in_book > 0 && in_book + list.len() > per_book() {
            let p = part_path(path, written.len());
            render::save_to(&mut wb, &p)?;
            written.push(p);
            wb = render::workbook(ctx, &title);
            used.clear();
            in_book = 0;
        }
        in_book += list.len();
        let p = part_path(path, written.len());
        write_town(
            ctx,
            form,
            (&mut wb, &mut used),
            &town,
            &list,
            (extra, &head, &fm),
        )
        .map_err(render::err(&p))?;
    }
    let p = part_path(path, written.len());
    render::save_to(&mut wb, &p)?;
    written.push(p);
    Ok(written)
}

/// What every page of a form is written with: its own fields, the
/// fields common to all pages, the cell formats.
type PageKit<'k> = (&'k dyn Fn(&mut Fields), &'k Fields, &'k Formats);

/// One 乡镇's sheet of a per-household form.
fn write_town(
    ctx: &ReportCtx,
    form: &Form,
    (wb, used): (&mut rust_xlsxwriter::Workbook, &mut Vec<String>),
    town: &str,
    list: &[&RiskRow],
    (extra, head, fm): PageKit,
) -> std::result::Result<(), rust_xlsxwriter::XlsxError> {
    let ws = render::add_sheet(wb, town, used)?;
    render::page_setup(ws, &form.spec, head)?;
    let mut row = 0u32;
    let mut breaks = Vec::new();
    // Rows at the usual height of the first page are left to the sheet's
    // default (a row's own height costs memory until the file is saved).
    let mut usual = None;
    for r in list {
        if row > 0 {
            breaks.push(row);
        }
        let mut f = fields::household(ctx, r, |l| form.spec.uses_list(l));
        extra(&mut f);
        let b = render::write_block(ws, &form.spec, &f, (row, usual), fm)?;
        if usual.is_none() {
            usual = render::usual_height(&b.heights);
            if let Some(h) = usual {
                ws.set_default_row_height(h);
            }
        }
        row = b.next;
    }
    if !breaks.is_empty() {
        ws.set_page_breaks(&breaks)?;
    }
    Ok(())
}

/// Write a per-村 table (研判表): one sheet per 村, the header row repeated
/// and frozen, dropdowns, an autofilter, and the 村's own signatures.
pub fn write_villages(
    ctx: &ReportCtx,
    form: &Form,
    rows: &[&RiskRow],
    returning: bool,
    extra: &dyn Fn(&mut Fields),
    path: &Path,
) -> Result<()> {
    let e = render::err(path);
    let fm = Formats::new();
    let mut head = Fields::default();
    fields::common(ctx, &mut head);
    extra(&mut head);
    let title = head.get("表名").map(V::text).unwrap_or_default();
    let mut wb = render::workbook(ctx, &title);
    let mut groups: std::collections::BTreeMap<(&str, &str), Vec<&RiskRow>> = Default::default();
    for r in rows {
        groups
            .entry((r.h.township.as_str(), r.h.village.as_str()))
            .or_default()
            .push(r);
    }
    if groups.is_empty() {
        render::write_empty(&mut wb, form, &head, &fm).map_err(&e)?;
    }
    let mut used = Vec::new();
    for ((town, village), mut list) in groups {
        list.sort_by(|a, b| (&a.h.group, &a.h.id).cmp(&(&b.h.group, &b.h.id)));
        let mut f = Fields::default();
        fields::common(ctx, &mut f);
        extra(&mut f);
        f.text("乡镇", town);
        f.text("村", village);
        let items = list
            .iter()
            .enumerate()
            .map(|(i, r)| fields::review_item(ctx, r, returning, i + 1))
            .collect();
        f.lists.insert("户", items);
        let name = if village.is_empty() {
            town.to_string()
        } else {
            format!("{town}{village}")
        };
        let ws = render::add_sheet(&mut wb, &name, &mut used).map_err(&e)?;
        render::page_setup(ws, &form.spec, &f).map_err(&e)?;
        let b = render::write_block(ws, &form.spec, &f, (0, None), &fm).map_err(&e)?;
        render::add_dropdowns(ws, &b).map_err(&e)?;
        if let Some(h) = b.header {
            ws.set_repeat_rows(h, h).map_err(&e)?;
            ws.set_freeze_panes(h + 1, form.spec.freeze_columns)
                .map_err(&e)?;
            let last_item = b.dropdowns.iter().map(|d| d.3).max().unwrap_or(h + 1);
            if form.spec.autofilter {
                let last_col = form.spec.columns.len() as u16 - 1;
                ws.autofilter(h, 0, last_item.max(h + 1), last_col)
                    .map_err(&e)?;
            }
        }
    }
    render::save_to(&mut wb, path)
}

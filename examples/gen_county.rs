//! Rebuilds the bundled example county under `examples/data/`:
//! `cargo run --example gen_county`. The files are messy on purpose (title
//! rows, merged two-row headers, amounts typed as text, GBK CSV, a legacy
//! .xls when LibreOffice is installed) and contain a few planted errors.

use chrono::NaiveDate;
use monitor::synth::*;
use rust_decimal::Decimal;
use std::path::Path;

const SEED: u64 = 2020;

fn plant_errors(c: &mut County) {
    // A duplicate 户编号 with another head.
    let mut dup = c.households[3].clone();
    dup.members[0].name = "重复录入".into();
    c.households.insert(4, dup);
    // 家庭人口 0, an unreadable amount, an unknown 户类型, an ID typed as a number.
    c.households[10].overrides.push((7, "0".into()));
    c.households[20].overrides.push((10, "约三千".into()));
    c.households[30].overrides.push((6, "五保户".into()));
    c.households[40]
        .overrides
        .push((2, "#NUM:532504198001011234".into()));
    // A department record for a person who is in no roster, and one with no date.
    let mut e = c.expenses[0].clone();
    e.hh_id = String::new();
    e.id_no = "532504199912319999".into();
    e.person = "查无此人".into();
    c.expenses.push(e);
    let mut e = c.expenses[1].clone();
    e.date = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
    c.expenses.push(e);
}

/// April: one household moved away, one new household, a birth and a death,
/// some incomes recovered and new department records.
fn next_month(march: &County, month: NaiveDate) -> County {
    let mut c = march.clone();
    c.households.remove(50);
    let mut extra = generate(1, SEED + 4, month).households.remove(0);
    // A fresh 户编号 in the same 乡镇 (index block 9xxxx is never generated).
    extra.id = format!("{}90001", &c.households[60].id[..10]);
    extra.township = c.households[60].township.clone();
    c.households.insert(61, extra);
    let h = &mut c.households[5];
    let mut baby = h.members[0].clone();
    baby.name = format!("{}新生", &h.members[0].name[..3]);
    baby.relation = "之子";
    baby.id_no = make_id(
        &mut Rng::new(4),
        "532504",
        NaiveDate::from_ymd_opt(2020, 4, 2).unwrap(),
        true,
    );
    h.members.push(baby);
    let h = &mut c.households[7];
    if h.members.len() > 1 {
        h.members.pop();
    }
    for h in c.households.iter_mut().step_by(9) {
        h.income[0] += Decimal::from(3000 * h.members.len() as u64);
    }
    let extra = generate(c.households.len(), SEED + 40, month);
    for (e, h) in extra
        .expenses
        .into_iter()
        .zip(c.households.iter().step_by(13))
    {
        let mut e = e;
        e.hh_id = h.id.clone();
        e.id_no = h.members[0].id_no.clone();
        e.person = h.members[0].name.clone();
        e.date = month;
        c.expenses.push(e);
    }
    c
}

fn write(c: &County, dir: &Path, month: NaiveDate) {
    std::fs::create_dir_all(dir).unwrap();
    write_households_xlsx(c, &dir.join("农户信息.xlsx"), month, true, SEED).unwrap();
    write_expenses_csv(c, &dir.join("刚性支出.csv"), true, SEED).unwrap();
    let members = dir.join("家庭成员.xlsx");
    write_members_xlsx(c, &members).unwrap();
    // Legacy .xls through LibreOffice when it is installed.
    let ok = std::process::Command::new("soffice")
        .args(["--headless", "--convert-to", "xls", "--outdir"])
        .arg(dir)
        .arg(&members)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok && dir.join("家庭成员.xls").exists() {
        std::fs::remove_file(&members).unwrap();
    } else {
        eprintln!("未找到 LibreOffice，家庭成员保留为 xlsx");
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data");
    let march = NaiveDate::from_ymd_opt(2020, 3, 1).unwrap();
    let mut c = generate(300, SEED, march);
    let april_base = c.clone();
    plant_errors(&mut c);
    write(&c, &root.join("2020-03"), march);
    let april = NaiveDate::from_ymd_opt(2020, 4, 1).unwrap();
    write(
        &next_month(&april_base, april),
        &root.join("2020-04"),
        april,
    );
    println!("示例数据已写入 {}", root.display());
}

//! Writes the example county's returned review for 2020-03
//! (`examples/data/2020-03/研判结论.xlsx`): two warnings confirmed 纳入监测
//! and one decided 不纳入, with the village review and township check the
//! 弥勒 rules require. Run: `cargo run --example gen_decisions`.

use rust_xlsxwriter::Workbook;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/data/2020-03/研判结论.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("东山镇")?;
    ws.write_string(0, 0, "东山镇 2020年3月 研判结论（乡镇汇总交回）")?;
    let head = [
        "户编号",
        "研判结论",
        "消除方式",
        "村级评议结果",
        "村级评议日期",
        "乡镇审核意见",
        "乡镇审核人",
        "乡镇审核日期",
        "备注",
    ];
    for (c, h) in head.iter().enumerate() {
        ws.write_string(1, c as u16, *h)?;
    }
    let rows = [
        [
            "532504000100040",
            "纳入监测",
            "",
            "同意纳入",
            "2020-03-18",
            "同意",
            "王审核",
            "2020-03-19",
            "",
        ],
        [
            "532504000100026",
            "纳入监测",
            "",
            "同意纳入",
            "2020-03-18",
            "同意",
            "王审核",
            "2020-03-19",
            "",
        ],
        [
            "532504000100011",
            "不纳入",
            "",
            "收入下降系季节性，不纳入",
            "2020-03-18",
            "同意",
            "王审核",
            "2020-03-19",
            "",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(r as u32 + 2, c as u16, *v)?;
            }
        }
    }
    wb.save(&path)?;
    println!("{}", path.display());
    Ok(())
}

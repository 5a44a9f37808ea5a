//! The patches to rust_xlsxwriter that change how a sheet is written
//! (vendor/rust_xlsxwriter/PATCHES.md, 2 to 4): a format is found by the
//! address it is passed from, a cell's XML is written piece by piece, and
//! a constant-memory sheet lets go of the merged cells of rows on disk.
//! Read back from the saved file.

use rust_xlsxwriter::{Format, FormatBorder, Formula, Workbook, Worksheet};
use std::io::Read;

/// A workbook of one constant-memory sheet filled by `fill`, saved.
fn saved(fill: impl FnOnce(&mut Worksheet)) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.xlsx");
    let mut wb = Workbook::new();
    fill(wb.add_worksheet_with_constant_memory().unwrap());
    wb.save(&path).unwrap();
    (dir, path)
}

fn part(path: &std::path::Path, name: &str) -> String {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut s = String::new();
    z.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

/// The value of `attr` in each element `<tag ...>` of `xml`, in order.
fn attrs(xml: &str, tag: &str, attr: &str) -> Vec<String> {
    xml.split(&format!("<{tag} "))
        .skip(1)
        .map(|e| {
            let e = &e[..e.find('>').unwrap()];
            let at = e.find(&format!("{attr}=\"")).map(|i| i + attr.len() + 2);
            at.map(|i| e[i..i + e[i..].find('"').unwrap()].to_string())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn a_format_rebuilt_at_the_same_address_gets_its_own_style() {
    let (_dir, path) = saved(|ws| {
        // One variable, so every format below is passed from the same address.
        let mut f: Format;
        let sizes = [10.5, 12.0, 10.5, 14.0];
        for (r, size) in sizes.iter().enumerate() {
            f = Format::new().set_font_size(*size);
            ws.write_string_with_format(r as u32, 0, "字", &f).unwrap();
        }
        let numbers = ["0.00", "0.0", "0.00", "0"];
        for (r, nf) in numbers.iter().enumerate() {
            f = Format::new().set_num_format(*nf);
            ws.write_number_with_format(4 + r as u32, 0, 1.25, &f)
                .unwrap();
        }
        f = Format::new().set_border(FormatBorder::Thin);
        ws.write_blank(8, 0, &f).unwrap();
    });

    let sheet = part(&path, "xl/worksheets/sheet1.xml");
    let styles = part(&path, "xl/styles.xml");
    let s: Vec<usize> = attrs(&sheet, "c", "s")
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(s.len(), 9, "{sheet}");
    let xfs = &styles[styles.find("<cellXfs").unwrap()..];
    let font_of = attrs(xfs, "xf", "fontId");
    let num_of = attrs(xfs, "xf", "numFmtId");
    let border_of = attrs(xfs, "xf", "borderId");
    let font_sizes = attrs(&styles[styles.find("<fonts").unwrap()..], "sz", "val");
    let font_size = |k: usize| font_sizes[font_of[s[k]].parse::<usize>().unwrap()].clone();
    let shown: Vec<String> = (0..4).map(font_size).collect();
    assert_eq!(shown, ["10.5", "12", "10.5", "14"]);
    let codes: Vec<(String, String)> = attrs(&styles, "numFmt", "numFmtId")
        .into_iter()
        .zip(attrs(&styles, "numFmt", "formatCode"))
        .collect();
    let code_of = |k: usize| {
        let id = &num_of[s[k]];
        codes
            .iter()
            .find(|(i, _)| i == id)
            .map_or_else(|| format!("builtin {id}"), |(_, c)| c.clone())
    };
    let shown: Vec<String> = (4..8).map(code_of).collect();
    assert_eq!(shown, ["0.00", "0.0", "0.00", "0"]);
    assert_ne!(border_of[s[8]], "0", "the blank cell keeps its border");
    // The same format twice is one style.
    assert_eq!(s[0], s[2]);
    assert_eq!(s[4], s[6]);
}

#[test]
fn cells_and_rows_are_written_as_excel_reads_them() {
    let (_dir, path) = saved(|ws| {
        let bold = Format::new().set_bold();
        ws.set_row_height(0, 30).unwrap();
        ws.write_number_with_format(0, 0, 1.5, &bold).unwrap();
        ws.write_string(0, 1, " 前后有空格 & <> ").unwrap();
        ws.write_blank(0, 2, &bold).unwrap();
        ws.write_formula(0, 3, Formula::new("=A1*2").set_result("3"))
            .unwrap();
        ws.write_formula(0, 4, Formula::new("=\"甲\"&\"乙\"").set_result("甲乙"))
            .unwrap();
        ws.write_number(1, 27, 7.0).unwrap();
    });

    let sheet = part(&path, "xl/worksheets/sheet1.xml");
    for expected in [
        r#"<row r="1" ht="30" customHeight="1">"#,
        r#"<c r="A1" s="1"><v>1.5</v></c>"#,
        r#"<c r="B1" t="inlineStr"><is><t xml:space="preserve"> 前后有空格 &amp; &lt;&gt; </t></is></c>"#,
        r#"<c r="C1" s="1"/>"#,
        r#"<c r="D1"><f>A1*2</f><v>3</v></c>"#,
        r#"<c r="E1" t="str"><f>"甲"&amp;"乙"</f><v>甲乙</v></c>"#,
        r#"<row r="2"><c r="AB2"><v>7.0</v></c></row>"#,
    ] {
        assert!(sheet.contains(expected), "{expected}\n{sheet}");
    }
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    let range = book.worksheet_range("Sheet1").unwrap();
    assert_eq!(range.get_value((0, 0)), Some(&Data::Float(1.5)));
    assert_eq!(
        range.get_value((0, 1)),
        Some(&Data::String(" 前后有空格 & <> ".into()))
    );
    assert_eq!(range.get_value((1, 27)), Some(&Data::Float(7.0)));
}

#[test]
fn merges_on_rows_already_on_disk_are_still_checked_and_all_written() {
    let f = Format::new().set_border(FormatBorder::Thin);
    let (_dir, path) = saved(|ws| {
        // Two-row merges page after page: each row is on disk (and its
        // merged cells let go) once a later row is written.
        for page in 0..300u32 {
            let r = page * 3;
            ws.merge_range(r, 0, r + 1, 2, "甲", &f).unwrap();
            ws.write_string(r + 2, 0, "乙").unwrap();
        }
        // Overlapping a merge whose rows are on disk, overlapping one that is
        // still in memory, and overlapping nothing.
        let refused = |r: Result<&mut Worksheet, rust_xlsxwriter::XlsxError>| match r {
            Err(e) => e.to_string(),
            Ok(_) => panic!("an overlapping merge was accepted"),
        };
        let old = refused(ws.merge_range(0, 1, 0, 3, "丙", &f));
        assert!(old.contains("A1:C2"), "{old}");
        let recent = refused(ws.merge_range(898, 2, 899, 3, "丁", &f));
        assert!(recent.contains("A898:C899"), "{recent}");
        ws.merge_range(2, 3, 2, 4, "戊", &f).unwrap();
    });

    let sheet = part(&path, "xl/worksheets/sheet1.xml");
    let refs = attrs(&sheet, "mergeCell", "ref");
    assert_eq!(refs.len(), 301);
    assert_eq!(refs[0], "A1:C2");
    assert_eq!(refs[299], "A898:C899");
    assert_eq!(refs[300], "D3:E3");
}

//! Print test: every workbook of the example run through LibreOffice to
//! PDF, checked page by page as a clerk would before a meeting: A4, one
//! page per household on the per-household forms with that household's
//! 户编号 and 户主姓名 on it, and no '###' (a number too wide for its cell).
//!
//! Needs `soffice` and `pdfinfo`/`pdftotext` (Debian: libreoffice-calc-nogui,
//! poppler-utils, fonts-noto-cjk, fonts-crosextra-carlito; `.ci/run` installs
//! them). Without them the test says so and passes, unless
//! MONITOR_REQUIRE_PRINT=1 (set by `.ci/run` once they are installed).

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn pdf_pages(pdf: &Path) -> (usize, String) {
    let o = Command::new("pdfinfo").arg(pdf).output().unwrap();
    let info = String::from_utf8_lossy(&o.stdout).to_string();
    let pages = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .map(|n| n.trim().parse().unwrap())
        .unwrap();
    (pages, info)
}

fn page_text(pdf: &Path, page: usize) -> String {
    let o = Command::new("pdftotext")
        .args(["-f", &page.to_string(), "-l", &page.to_string(), "-layout"])
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn every_workbook_prints_on_a4_one_household_per_page() {
    if !(have("soffice") && have("pdftotext") && have("pdfinfo")) {
        let msg =
            "跳过打印测试：本机没有 LibreOffice（soffice）或 poppler-utils（pdftotext/pdfinfo）";
        assert!(
            std::env::var("MONITOR_REQUIRE_PRINT").is_err(),
            "{msg}，但 MONITOR_REQUIRE_PRINT 要求运行"
        );
        eprintln!("{msg}");
        return;
    }
    let ws = Ws::new();
    let out = example_run(&ws);
    let pdf_dir = ws.path("pdf");
    let books: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xlsx"))
        .collect();
    assert_eq!(books.len(), 10, "{books:?}");
    let o = Command::new("soffice")
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(&pdf_dir)
        .args(&books)
        .env("HOME", ws.path("home"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let js = summary(&out);
    let households = js["households"].as_array().unwrap();
    let name_of = |id: &str| {
        households
            .iter()
            .find(|h| h["household_id"] == id)
            .and_then(|h| h["head_name"].as_str())
            .unwrap_or("")
            .to_string()
    };
    for book in &books {
        let stem = book.file_stem().unwrap().to_string_lossy().to_string();
        let pdf = pdf_dir.join(format!("{stem}.pdf"));
        let (pages, info) = pdf_pages(&pdf);
        assert!(info.contains("(A4)"), "{stem}: {info}");
        let per_household = ["附件1", "附件2", "附件3-1", "附件3-2", "附件4"]
            .iter()
            .any(|p| stem.starts_with(&format!("{p} ")));
        let mut marks = 0;
        for p in 1..=pages {
            let text = page_text(&pdf, p);
            assert!(!text.contains("###"), "{stem} page {p}: ###");
            if !per_household {
                continue;
            }
            // Exactly one household on the page, named by its mark.
            let ids: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("本户第1页，共1页"))
                .filter_map(|l| l.split_whitespace().nth(1))
                .collect();
            assert_eq!(ids.len(), 1, "{stem} page {p}:\n{text}");
            marks += 1;
            let squeezed: String = text.split_whitespace().collect();
            let id = ids[0];
            assert!(squeezed.matches(id).count() >= 2, "{stem} page {p}: {id}");
            let name = name_of(id);
            assert!(
                name.is_empty() || squeezed.contains(&name),
                "{stem} page {p}: {name}"
            );
        }
        if per_household {
            assert_eq!(marks, pages, "{stem}");
        }
    }
}

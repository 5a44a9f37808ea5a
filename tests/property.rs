//! A bounded, seeded property test: a few hundred hostile rosters and
//! expense files (odd values, lost headers, cut or flipped bytes, GBK,
//! title rows, repeated rows) run through the real binary. Whatever the
//! input: no panic, an exit code from the README's table, and after a
//! failed run the previous outputs and the history store are unchanged.

mod common;
use common::*;

/// xorshift64*: small, seeded, the same cases on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const HEADER: [&str; 12] = [
    "户编号",
    "户主姓名",
    "户类型",
    "家庭人口",
    "劳动力人数",
    "乡镇",
    "工资性收入",
    "生产经营性收入",
    "财产性收入",
    "转移性收入",
    "生产经营性支出",
    "上年家庭纯收入",
];

const ODD: &[&str] = &[
    "",
    " ",
    "—",
    "79228162514264337593543950335",
    "-79228162514264337593543950335",
    "-1",
    "1e309",
    "NaN",
    "inf",
    "0x10",
    "１２３４",
    "4428元",
    "1,234.50",
    "(12)",
    "=SUM(A1:B2)",
    "\u{0}",
    "\u{1b}[31m",
    "'",
    "2020-02-30",
    "99999999999999999999",
    "4294967297",
    "-0",
    "是",
    "💥",
    "a\r\nb",
    "\"",
    "合计",
    "户编号",
    "Ä镇",
    "ä镇",
    "'东乡'",
];

fn base_rows(rng: &mut Rng) -> Vec<Vec<String>> {
    let mut rows = vec![HEADER.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    for i in 0..8 {
        let wage = [3000, 6000, 9000, 30000, 80000][rng.below(5)];
        rows.push(
            [
                format!("H{i}"),
                format!("户主{i}"),
                ["脱贫户", "一般农户", "边缘户"][rng.below(3)].to_string(),
                (1 + rng.below(5)).to_string(),
                rng.below(3).to_string(),
                ["东乡", "西镇"][rng.below(2)].to_string(),
                wage.to_string(),
                "0".into(),
                "0".into(),
                "1200".into(),
                "0".into(),
                "20000".into(),
            ]
            .to_vec(),
        );
    }
    rows
}

/// Mutate a table: odd cells, a lost or duplicated header, title rows,
/// repeated or dropped rows, shuffled columns.
fn mutate(rng: &mut Rng, rows: &mut Vec<Vec<String>>) {
    for _ in 0..1 + rng.below(6) {
        match rng.below(8) {
            0..=2 => {
                let r = rng.below(rows.len());
                let c = rng.below(rows[r].len());
                rows[r][c] = if rng.chance(5) {
                    "长".repeat(2000)
                } else {
                    rng.pick(ODD).to_string()
                };
            }
            3 => {
                let c = rng.below(rows[0].len());
                rows[0][c] = rng.pick(ODD).to_string();
            }
            4 => rows.insert(0, vec!["某某乡镇2020年3月农户信息".to_string()]),
            5 => {
                let r = rng.below(rows.len());
                let dup = rows[r].clone();
                rows.insert(r, dup);
            }
            6 => {
                if rows.len() > 1 {
                    let r = 1 + rng.below(rows.len() - 1);
                    rows.remove(r);
                }
            }
            _ => {
                let (a, b) = (rng.below(HEADER.len()), rng.below(HEADER.len()));
                for row in rows.iter_mut() {
                    if a < row.len() && b < row.len() {
                        row.swap(a, b);
                    }
                }
            }
        }
    }
}

fn csv_bytes(rng: &mut Rng, rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    for r in rows {
        w.write_record(r).unwrap();
    }
    let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
    if rng.chance(30) {
        encoding_rs::GB18030.encode(&text).0.into_owned()
    } else {
        text.into_bytes()
    }
}

fn xlsx_bytes(rows: &[Vec<String>]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let _ = match v.parse::<f64>() {
                Ok(x) if x.is_finite() && !v.contains(['x', 'e', 'E', 'N', 'i']) => {
                    ws.write_number(r as u32, c as u16, x).map(|_| ())
                }
                _ => ws.write_string(r as u32, c as u16, v).map(|_| ()),
            };
        }
    }
    wb.save_to_buffer().unwrap()
}

/// Cut or flip the bytes of a file now and then.
fn damage(rng: &mut Rng, mut bytes: Vec<u8>) -> Vec<u8> {
    if rng.chance(10) && !bytes.is_empty() {
        let cut = rng.below(bytes.len());
        bytes.truncate(cut);
    }
    if rng.chance(10) {
        for _ in 0..1 + rng.below(8) {
            if !bytes.is_empty() {
                let i = rng.below(bytes.len());
                bytes[i] ^= 1 << rng.below(8);
            }
        }
    }
    bytes
}

fn expenses(rng: &mut Rng) -> Vec<u8> {
    let mut rows = vec![vec![
        "户编号".to_string(),
        "支出类型".into(),
        "自付金额".into(),
        "发生日期".into(),
    ]];
    for _ in 0..rng.below(6) {
        rows.push(vec![
            format!("H{}", rng.below(10)),
            ["因病", "因学", "买车", ""][rng.below(4)].into(),
            ["6000", "25000", "", "-5", "1e28"][rng.below(5)].into(),
            ["2020-03-05", "2019-12-01", "明天", ""][rng.below(4)].into(),
        ]);
    }
    if rng.chance(30) {
        mutate(rng, &mut rows);
    }
    let bytes = csv_bytes(rng, &rows);
    damage(rng, bytes)
}

/// Every file of the workspace's outputs and the store, for "unchanged".
fn state(ws: &Ws) -> (std::collections::BTreeMap<String, Vec<u8>>, Vec<u8>) {
    (
        snapshot(&ws.path("out/2020-03")),
        std::fs::read(ws.path("history.sqlite")).unwrap_or_default(),
    )
}

const DOCUMENTED: [i32; 10] = [0, 2, 3, 4, 5, 6, 7, 8, 9, 11];

#[test]
fn hostile_inputs_never_crash_or_lose_results() {
    let ws = Ws::new();
    ws.write(
        "monitor.toml",
        &format!(
            "[run]\nrules = '{}'\nout = 'out'\n[inputs]\nhouseholds = 'h.{{month}}'\nexpenses = 'e.csv'\n[history]\nstore = 'history.sqlite'\n",
            rules("mile-2020.toml")
        ),
    );
    let mut rng = Rng(0x5EED_2020_0301);
    // A good month first, so that failures have something to keep.
    let rows = base_rows(&mut rng);
    std::fs::write(ws.path("h.2020-03"), csv_bytes(&mut Rng(1), &rows)).unwrap();
    std::fs::write(ws.path("e.csv"), "户编号,支出类型,自付金额,发生日期\n").unwrap();
    let o = ws.run(&["run", "--month", "2020-03", "-q"]);
    assert!(o.status.success(), "{}", stderr(&o));

    let cases = 240;
    let mut outcomes = std::collections::BTreeMap::<i32, usize>::new();
    for case in 0..cases {
        let mut rows = base_rows(&mut rng);
        mutate(&mut rng, &mut rows);
        let bytes = if case % 2 == 0 {
            csv_bytes(&mut rng, &rows)
        } else {
            xlsx_bytes(&rows)
        };
        std::fs::write(ws.path("h.2020-03"), damage(&mut rng, bytes)).unwrap();
        std::fs::write(ws.path("e.csv"), expenses(&mut rng)).unwrap();
        let before = state(&ws);
        let o = ws.run(&["run", "--month", "2020-03", "-q"]);
        let err = stderr(&o);
        let code = o.status.code();
        assert!(
            code.is_some_and(|c| DOCUMENTED.contains(&c)),
            "case {case}: exit {code:?}: {err}"
        );
        assert!(!err.contains("panicked"), "case {case}: {err}");
        *outcomes.entry(code.unwrap_or(-1)).or_default() += 1;
        if code != Some(0) {
            assert!(err.starts_with("错误："), "case {case}: {err}");
            assert!(
                state(&ws) == before,
                "case {case}: a failed run changed the results"
            );
        }
        let stray: Vec<String> = std::fs::read_dir(ws.path("out"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "2020-03")
            .collect();
        assert!(stray.is_empty(), "case {case}: left behind {stray:?}");
    }
    eprintln!("outcomes by exit code: {outcomes:?}");
    // The generator reaches both sides: runs that succeed and runs refused.
    assert!(
        outcomes.get(&0).copied().unwrap_or(0) > cases / 10,
        "{outcomes:?}"
    );
    assert!(
        outcomes.get(&4).copied().unwrap_or(0) > cases / 10,
        "{outcomes:?}"
    );
}

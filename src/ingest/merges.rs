//! The merged ranges of an xlsx's sheets, found without parsing the sheets
//! a second time. A worksheet keeps its `<mergeCells>` after all its cells;
//! calamine finds them by reading every XML event of the sheet again (as
//! long as reading the cells). Here the sheet is only decompressed and
//! searched for that element (an element name cannot occur in text, where
//! `<` is always escaped), and only what follows it is parsed.
//!
//! Which zip entry holds which sheet comes from `xl/workbook.xml` and its
//! relationships. Anything unexpected returns `None`, and the caller asks
//! calamine instead.

use calamine::Dimensions;
use quick_xml::events::Event;
use std::collections::HashMap;
use std::io::Read;

/// Merged ranges of each named sheet, or `None` when the workbook's parts
/// are not where this reader looks (the caller falls back to calamine).
pub fn merge_ranges(bytes: &[u8], names: &[String]) -> Option<Vec<Vec<Dimensions>>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    let paths = sheet_paths(&mut zip)?;
    names
        .iter()
        .map(|n| {
            let path = paths.get(n)?;
            let mut entry = zip.by_name(path).ok()?;
            scan_sheet(&mut entry)
        })
        .collect()
}

fn read_part(zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>, name: &str) -> Option<Vec<u8>> {
    let mut f = zip.by_name(name).ok()?;
    let mut v = Vec::new();
    f.read_to_end(&mut v).ok()?;
    Some(v)
}

/// Sheet name → zip entry, from the workbook and its relationships.
fn sheet_paths(
    zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
) -> Option<HashMap<String, String>> {
    let workbook = read_part(zip, "xl/workbook.xml")?;
    let rels = read_part(zip, "xl/_rels/workbook.xml.rels")?;
    let targets: HashMap<String, String> = elements(&rels, "Relationship", "")?
        .into_iter()
        .filter_map(|a| Some((a.get("Id")?.clone(), a.get("Target")?.clone())))
        .collect();
    let mut out = HashMap::new();
    for a in elements(&workbook, "sheet", "")? {
        let name = a.get("name")?;
        // The relationship id is `r:id` under whatever prefix the file uses.
        let id = a
            .iter()
            .find(|(k, _)| k.as_str() == "id" || k.ends_with(":id"))
            .map(|(_, v)| v)?;
        let target = targets.get(id)?;
        let path = match target.strip_prefix('/') {
            Some(abs) => abs.to_string(),
            None => format!("xl/{target}"),
        };
        out.insert(name.clone(), path);
    }
    Some(out)
}

/// The attributes (unescaped, keys as written) of every element whose
/// local name is `local`, up to the end of the document or of an element
/// named `until` (the tail of a sheet goes on to close elements it never
/// opened).
fn elements(xml: &[u8], local: &str, until: &str) -> Option<Vec<HashMap<String, String>>> {
    let mut r = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    loop {
        match r.read_event_into(&mut buf).ok()? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == local => {
                let mut attrs = HashMap::new();
                for a in e.attributes() {
                    let a = a.ok()?;
                    let key = a.key.as_ref().to_string();
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .ok()?
                        .into_owned();
                    attrs.insert(key, value);
                }
                out.push(attrs);
            }
            Event::End(e) if e.local_name().as_ref() == until => return Some(out),
            Event::Eof => return Some(out),
            _ => {}
        }
        buf.clear();
    }
}

/// Decompress a sheet, keeping only what follows `mergeCells`, and read
/// its ranges.
fn scan_sheet(sheet: &mut impl Read) -> Option<Vec<Dimensions>> {
    const NEEDLE: &[u8] = b"mergeCells";
    let finder = memchr::memmem::Finder::new(NEEDLE);
    let mut buf = vec![0u8; 256 * 1024];
    // Bytes carried over from the previous read, so a needle split between
    // two reads is still found.
    let mut carry = 0usize;
    let mut tail: Option<Vec<u8>> = None;
    loop {
        let n = sheet.read(&mut buf[carry..]).ok()?;
        let filled = carry + n;
        if let Some(t) = tail.as_mut() {
            t.extend_from_slice(&buf[carry..filled]);
        } else if let Some(at) = find_element(&finder, &buf[..filled]) {
            tail = Some(buf[at..filled].to_vec());
        }
        if n == 0 {
            break;
        }
        // Keep the last bytes (shorter than the needle and its '<' or
        // prefix) for the next round.
        let keep = if tail.is_some() {
            0
        } else {
            filled.min(NEEDLE.len() + 16)
        };
        buf.copy_within(filled - keep..filled, 0);
        carry = keep;
    }
    let Some(tail) = tail else {
        return Some(Vec::new());
    };
    let mut out = Vec::new();
    for a in elements(&tail, "mergeCell", "mergeCells")? {
        out.push(dimension(a.get("ref")?)?);
    }
    Some(out)
}

/// Where an element (not an end tag) named `mergeCells`, with any prefix,
/// starts in `hay`.
fn find_element(finder: &memchr::memmem::Finder, hay: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = finder.find(&hay[from..]) {
        let at = from + i;
        // Walk back over a namespace prefix to the '<'.
        let mut s = at;
        while s > 0 && (hay[s - 1].is_ascii_alphanumeric() || hay[s - 1] == b':') {
            s -= 1;
        }
        let prefixed = s < at && hay[at - 1] == b':';
        if s > 0 && hay[s - 1] == b'<' && (s == at || prefixed) {
            return Some(s - 1);
        }
        from = at + 1;
    }
    None
}

/// "B2:D3" or "B2" as 0-based (row, column) corners.
fn dimension(r: &str) -> Option<Dimensions> {
    let (a, b) = r.split_once(':').unwrap_or((r, r));
    Some(Dimensions::new(cell(a)?, cell(b)?))
}

fn cell(a1: &str) -> Option<(u32, u32)> {
    let a1 = a1.trim().trim_start_matches('$');
    let split = a1.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = a1.split_at(split);
    let letters = letters.trim_end_matches('$');
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let mut col: u32 = 0;
    for c in letters.bytes() {
        if !c.is_ascii_alphabetic() {
            return None;
        }
        col = col * 26 + u32::from(c.to_ascii_uppercase() - b'A' + 1);
    }
    let row: u32 = digits.parse().ok()?;
    Some((row.checked_sub(1)?, col - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a1_references() {
        assert_eq!(cell("A1"), Some((0, 0)));
        assert_eq!(cell("$AB$12"), Some((11, 27)));
        assert_eq!(cell("A0"), None);
        let d = dimension("B2:D3").unwrap();
        assert_eq!((d.start, d.end), ((1, 1), (2, 3)));
    }

    #[test]
    fn finds_merges_split_across_reads_and_under_a_prefix() {
        let mut xml = b"<x:worksheet><x:sheetData>".to_vec();
        // Text that mentions the word is not an element.
        xml.extend(b"<x:c t=\"inlineStr\"><x:is><x:t>mergeCells &lt;mergeCells</x:t></x:is></x:c>");
        xml.extend(vec![b' '; 256 * 1024 - 40]);
        xml.extend(b"</x:sheetData><x:mergeCells count=\"2\"><x:mergeCell ref=\"A1:C1\"/><x:mergeCell ref=\"B3:B5\"/></x:mergeCells></x:worksheet>");
        // Read in small pieces so the element straddles reads.
        struct Slow<'a>(&'a [u8]);
        impl Read for Slow<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = out.len().min(self.0.len()).min(7001);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let got = scan_sheet(&mut Slow(&xml)).unwrap();
        let got: Vec<_> = got.iter().map(|d| (d.start, d.end)).collect();
        assert_eq!(got, [((0, 0), (0, 2)), ((2, 1), (4, 1))]);
        assert_eq!(scan_sheet(&mut &b"<worksheet/>"[..]).unwrap(), Vec::new());
    }

    #[test]
    fn same_ranges_as_calamine_on_a_written_workbook() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let f = rust_xlsxwriter::Format::new();
        let a = wb.add_worksheet().set_name("农户").unwrap();
        a.write(0, 0, "户编号").unwrap();
        let b = wb.add_worksheet().set_name("成员 表").unwrap();
        b.merge_range(0, 0, 0, 5, "标题", &f).unwrap();
        b.merge_range(1, 2, 3, 2, "合并", &f).unwrap();
        for r in 4..3000 {
            b.write(r, 0, "一行").unwrap();
        }
        b.merge_range(3000, 1, 3001, 4, "底部", &f).unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let names = vec!["农户".to_string(), "成员 表".to_string()];
        let ours = merge_ranges(&bytes, &names).unwrap();
        let mut x: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(&bytes[..])).unwrap();
        for (k, n) in names.iter().enumerate() {
            let mut theirs = x.merge_cells_by_sheet_name(n).unwrap();
            let mut mine = ours[k].clone();
            let key = |d: &Dimensions| (d.start, d.end);
            theirs.sort_by_key(key);
            mine.sort_by_key(key);
            assert_eq!(mine, theirs, "{n}");
        }
        assert_eq!(ours[1].len(), 3);
    }
}

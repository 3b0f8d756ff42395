#[test]
fn dump() {
    for f in std::fs::read_dir("tests/fixtures").unwrap() {
        let d = f.unwrap().path();
        if !d.is_dir() || d.ends_with("xsd") { continue; }
        for x in std::fs::read_dir(&d).unwrap() {
            let p = x.unwrap().path();
            match dealbridge_commerceml::inspect(&p) {
                Ok(s) => println!("{}", serde_json::to_string(&s).unwrap()),
                Err(e) => println!("{}: ERR {e}", p.display()),
            }
        }
    }
}

//! Every TOML example of docs/policy.md is a valid profile.

use std::{fs, path::Path};

use bpfbox_policy::parse_str;

#[test]
fn documentation_examples_parse() {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/policy.md");
    let text = fs::read_to_string(&doc).unwrap();
    let mut examples = 0;
    for block in text.split("```toml\n").skip(1) {
        let example = block.split("```").next().unwrap();
        if let Err(d) = parse_str(example, &doc) {
            panic!("{d}\n---\n{example}");
        }
        examples += 1;
    }
    assert!(examples >= 3);
}

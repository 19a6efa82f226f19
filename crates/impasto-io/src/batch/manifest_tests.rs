use super::*;

fn manifest(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn json_lines_give_inputs_styles_outputs_and_options() {
    let (dir, path) = manifest(
        "job.jsonl",
        "{\"input\": \"a.jpg\", \"style\": \"s.jpg\", \"size\": 256}\n\n\
         {\"input\": \"b.jpg\", \"style\": [\"s.jpg:0.7\", \"t.jpg:0.3\"], \"output\": \"x/b.png\", \"preserve-color\": \"luminance\"}\n",
    );
    let e = read_manifest(&path).unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].input, dir.path().join("a.jpg"));
    assert_eq!(
        e[0].styles,
        vec![dir.path().join("s.jpg").display().to_string()]
    );
    assert_eq!(e[0].options, vec![("size".to_string(), "256".to_string())]);
    assert_eq!(e[0].output, None);
    assert_eq!(e[1].line, 3);
    assert_eq!(e[1].output, Some(PathBuf::from("x/b.png")));
    assert_eq!(
        e[1].styles[0],
        format!("{}:0.7", dir.path().join("s.jpg").display())
    );
    assert_eq!(e[1].options[0].0, "preserve-color");
}

#[test]
fn csv_rows_give_the_same() {
    let (dir, path) = manifest(
        "job.csv",
        "input,style,output,size\na.jpg,s.jpg;t.jpg:0.5,,256\nb.jpg,s.jpg,b.png,\n",
    );
    let e = read_manifest(&path).unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].styles.len(), 2);
    assert!(e[0].styles[1].ends_with("t.jpg:0.5"));
    assert_eq!(e[0].options, vec![("size".to_string(), "256".to_string())]);
    assert!(e[1].options.is_empty());
    assert_eq!(e[1].output, Some(PathBuf::from("b.png")));
    assert_eq!(e[1].input, dir.path().join("b.jpg"));
    assert_eq!(e[1].line, 3);
}

#[test]
fn malformed_manifests_name_the_file_and_line() {
    for (name, text, needle) in [
        ("j.jsonl", "{\"input\": \"a.jpg\"}\n{oops\n", "line 2"),
        ("j.jsonl", "[1, 2]\n", "JSON object"),
        (
            "j.jsonl",
            "{\"input\": \"a.jpg\", \"output\": \"../x.png\"}\n",
            "inside the output folder",
        ),
        (
            "j.jsonl",
            "{\"input\": \"a.jpg\", \"output\": \"/tmp/x.png\"}\n",
            "inside the output folder",
        ),
        (
            "j.jsonl",
            "{\"input\": \"a.jpg\", \"output\": \"x.gif\"}\n",
            ".png",
        ),
        ("j.jsonl", "{\"style\": \"a.jpg\"}\n", "no input"),
        ("j.jsonl", "\n", "no items"),
        ("j.csv", "photo,style\na.jpg,b.jpg\n", "'input' column"),
        ("j.txt", "a.jpg\n", ".jsonl or .csv"),
    ] {
        let (_dir, path) = manifest(name, text);
        let e = read_manifest(&path).unwrap_err().to_string();
        assert!(e.contains(needle), "{text:?}: {e}");
        assert!(e.contains(name), "{e}");
    }
}

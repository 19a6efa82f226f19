//! A manifest item's own options: the job's command line with the item's options added, read
//! by the same parser, so an item accepts exactly the look options of the command line, with
//! the same checks and messages.

use std::ffi::OsString;

use clap::Parser;

use crate::args::{BatchArgs, Cli, Command};

/// Options that name inputs, outputs or the job's shape rather than the look of one result.
const NOT_PER_ITEM: &[&str] = &[
    "style",
    "output",
    "shard",
    "model",
    "style-mix",
    "json",
    "weights",
    "mask",
    "regions",
    "style-regions",
    "keep",
    "inputs",
];

/// The job's arguments as they apply to an item with `options` (`name`, `value`): `argv` is
/// the job's whole command line. An unknown option or a bad value is the item's error.
pub fn for_item(argv: &[OsString], options: &[(String, String)]) -> Result<BatchArgs, String> {
    let mut args = argv.to_vec();
    for (name, value) in options {
        if NOT_PER_ITEM.contains(&name.as_str()) {
            return Err(format!(
                "option \"{name}\" cannot differ between items (a manifest item gives its own \"style\" and \"output\" as fields)"
            ));
        }
        args.push(format!("--{name}").into());
        args.push(value.into());
    }
    match Cli::try_parse_from(args) {
        Ok(Cli {
            command: Command::Batch(b),
        }) => Ok(b),
        Ok(_) => Err("not a batch command line".into()),
        Err(e) => Err(first_line(&e.render().to_string())),
    }
}

/// clap's message without its usage and help lines.
fn first_line(message: &str) -> String {
    message
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("error: ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<OsString> {
        s.split(' ').map(OsString::from).collect()
    }

    #[test]
    fn an_item_overrides_the_jobs_look_and_nothing_else() {
        let job = argv("impasto batch in -o out --style s.jpg --size 512 --iters 300");
        let plain = for_item(&job, &[]).unwrap();
        assert_eq!((plain.size, plain.look.iters), (512, 300));
        let own = [
            ("size".into(), "256".into()),
            ("style-weight".into(), "2e5".into()),
        ];
        let item = for_item(&job, &own).unwrap();
        assert_eq!((item.size, item.look.iters), (256, 300));
        assert_eq!(item.look.style_weight, 2e5);
        let bad = for_item(&job, &[("size".into(), "big".into())]).unwrap_err();
        assert!(bad.contains("--size") && bad.contains("big"), "{bad}");
        let unknown = for_item(&job, &[("sharpness".into(), "3".into())]).unwrap_err();
        assert!(unknown.contains("--sharpness"), "{unknown}");
        let fixed = for_item(&job, &[("output".into(), "x".into())]).unwrap_err();
        assert!(fixed.contains("cannot differ"), "{fixed}");
    }
}
